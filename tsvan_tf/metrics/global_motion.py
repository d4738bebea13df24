"""A model-free motion probe: how far the content of a video moves from frame to frame, in NumPy.

The classifier scores say whether generated videos look like their class; this says whether
anything moves at all. It suits the embedded synthetic dataset (one object translating over a
static background that wraps around the frame edges; shifts are whole pixels, so average them
over steps for sub-pixel speeds) and is a rough global estimate elsewhere.

```python
from tsvan_tf.metrics.global_motion import frame_shifts

shifts = frame_shifts(videos)          # (batch, T - 1, 2): (dx, dy) in pixels per step
speed = abs(shifts).sum(-1).mean()     # 0 for static videos
```
"""

import numpy as np


def _candidate_shifts(max_shift):
    """All integer `(dx, dy)` with |dx|, |dy| <= max_shift, smallest first (ties go to them)."""
    offsets = [(dx, dy) for dy in range(-max_shift, max_shift + 1)
               for dx in range(-max_shift, max_shift + 1)]
    return sorted(offsets, key=lambda s: (abs(s[0]) + abs(s[1]), s[1], s[0]))


def frame_shifts(videos, max_shift=3):
    """The integer translation that best maps each frame onto the next.

    Each video's static background (its per-pixel median over time) is removed first; then, for
    every pair of consecutive frames, the shift `(dx, dy)` (x to the right, y down, wrapping
    around the edges) minimising the squared error between the shifted frame and the next one is
    chosen. Among equally good shifts the smallest wins, so a static video gives zeros.

    Args:
        videos: `(batch, T, H, W, C)` (or one video `(T, H, W, C)`), T >= 2, any value range.
        max_shift: the largest |dx| and |dy| searched, in pixels.

    Returns:
        float64 `(batch, T - 1, 2)` (or `(T - 1, 2)` for one video): `(dx, dy)` per step.

    Raises:
        ValueError: a shape other than the above, or `max_shift` < 0.
    """
    v = np.asarray(videos, dtype=np.float64)
    single = v.ndim == 4
    if single:
        v = v[None]
    if v.ndim != 5 or v.shape[1] < 2:
        raise ValueError("Expected videos of shape (batch, T, H, W, C) or (T, H, W, C) with "
                         f"T >= 2. Received: shape={np.shape(videos)}")
    if not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
        raise ValueError(f"Expected an integer max_shift >= 0. Received: max_shift={max_shift!r}")
    v = v - np.median(v, axis=1, keepdims=True)
    current, following = v[:, :-1], v[:, 1:]
    candidates = _candidate_shifts(int(max_shift))
    errors = np.stack([
        np.mean(np.square(np.roll(current, (dy, dx), axis=(2, 3)) - following), axis=(2, 3, 4))
        for dx, dy in candidates], axis=-1)  # (batch, T - 1, candidates)
    best = np.asarray(candidates, dtype=np.float64)[np.argmin(errors, axis=-1)]
    return best[0] if single else best
