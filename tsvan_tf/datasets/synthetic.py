"""`SyntheticSource`: the embedded, procedurally generated action dataset (no download).

Each clip shows one textured shape on a background. The **class is the motion only** (a
direction of travel, an orbit direction, a pulsing rhythm, a shake); **appearance** (shape,
colour, texture, size, background, start position, phase and speed) is drawn independently of the
class. Appearance is summarised by the combination `(shape, colour, texture)`; the test split uses
only combinations that never occur in training (every single shape, colour and texture still
occurs in both), so a model that separates content from motion generalises and one that keys on
appearance does not. Everything is a pure function of `seed` and the clip's index.
"""

import numpy as np

from tsvan_tf.datasets.clip_source import ClipSource
from tsvan_tf.datasets.planned_clip import PlannedClip

CLASS_NAMES = (
    "move_right", "move_left", "move_up", "move_down",
    "orbit_clockwise", "orbit_counterclockwise", "pulse", "shake",
)
# The translation classes' unit directions (x right, y down), per frame.
TRANSLATION_DIRECTIONS = {"move_right": (1, 0), "move_left": (-1, 0), "move_up": (0, -1),
                          "move_down": (0, 1)}
SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLOURS = (  # saturated RGB in [0, 1]
    (0.90, 0.15, 0.15), (0.15, 0.75, 0.20), (0.20, 0.35, 0.95),
    (0.95, 0.85, 0.10), (0.85, 0.20, 0.85), (0.10, 0.85, 0.85),
)
TEXTURES = ("solid", "stripes", "checker")
BACKGROUNDS = ("flat", "vertical_gradient", "horizontal_gradient", "grid")
SPLITS = ("train", "test")
# One test combination in `_TEST_COMBINATION_PERIOD` (the rest are training combinations).
_TEST_COMBINATION_PERIOD = 4

# Bumped whenever the rendering changes, so that a cached preparation of another version is not
# re-used (it is part of the source's options and of the trainer's cache folder name).
VERSION = 2

# Motion and appearance ranges, in pixels of a 64x64 frame (scaled with `image_size`) or frames.
_REFERENCE_SIZE = 64.0
_RADIUS_RANGE = (10.0, 16.0)
_SPEED_RANGE = (1.6, 2.6)            # px/frame, translations
_ORBIT_RADIUS_RANGE = (6.0, 10.0)    # px
_ORBIT_PERIOD = 12.0                 # frames per turn
_PULSE_PERIOD = 8.0                  # frames per cycle
_PULSE_AMPLITUDE = 0.4               # relative radius change
_SHAKE_PERIOD = 6.0                  # frames per cycle
_SHAKE_AMPLITUDE_RANGE = (5.0, 7.0)  # px
_TEXTURE_PERIOD = 0.9                # stripe/checker period, in object radii
_BACKGROUND_VALUE_RANGE = (0.08, 0.3)  # grey level before the tint
_BACKGROUND_TINT = 0.06


def appearance_combinations(split, seed):
    """Returns the `(shape, colour, texture)` index triples used by `split`.

    Args:
        split: `"train"` or `"test"`.
        seed: the dataset seed (it picks which quarter of the combinations is held out).

    Returns:
        A sorted list of `(shape, colour, texture)` index triples; the two splits are disjoint.
    """
    offset = seed % _TEST_COMBINATION_PERIOD
    combos = [(s, c, t) for s in range(len(SHAPES)) for c in range(len(COLOURS))
              for t in range(len(TEXTURES))]
    is_test = [(s + c + t + offset) % _TEST_COMBINATION_PERIOD == 0 for s, c, t in combos]
    return [combo for combo, test in zip(combos, is_test) if test == (split == "test")]


def appearance_id(combination):
    """Returns the integer id of a `(shape, colour, texture)` triple (stored as the `actor`)."""
    shape, colour, texture = combination
    return (shape * len(COLOURS) + colour) * len(TEXTURES) + texture


class SyntheticSource(ClipSource):
    """The embedded synthetic dataset: 8 actions defined by motion alone.

    Classes: `move_right`, `move_left`, `move_up`, `move_down` (constant-speed travel, wrapping
    around the frame edges), `orbit_clockwise`, `orbit_counterclockwise` (circling the start
    point), `pulse` (growing and shrinking in place) and `shake` (fast left-right oscillation).

    Args:
        seed: everything generated is a pure function of it.
        train_clips_per_class: training clips per class.
        test_clips_per_class: test clips per class.
        num_frames: frames per clip.
        image_size: frame height and width in pixels.
    """

    requires_source_dir = False

    def __init__(self, seed=0, train_clips_per_class=160, test_clips_per_class=40, num_frames=16,
                 image_size=64):
        for name, value, low in (("train_clips_per_class", train_clips_per_class, 1),
                                 ("test_clips_per_class", test_clips_per_class, 1),
                                 ("num_frames", num_frames, 2), ("image_size", image_size, 16)):
            if value < low:
                raise ValueError(f"Expected {name} >= {low}. Received: {name}={value}")
        super().__init__(image_format="png", jpeg_quality=95, min_frames=num_frames)
        self.seed = int(seed)
        self.clips_per_class = {"train": int(train_clips_per_class),
                                "test": int(test_clips_per_class)}
        self.num_frames = int(num_frames)
        self.image_size = int(image_size)

    @property
    def options(self):
        return {"version": VERSION, "seed": self.seed,
                "train_clips_per_class": self.clips_per_class["train"],
                "test_clips_per_class": self.clips_per_class["test"],
                "num_frames": self.num_frames, "image_size": self.image_size}

    def plan(self):
        """Lists the clips, classes interleaved so that every shard holds every class."""
        planned = []
        for split_index, split in enumerate(SPLITS):
            for index in range(self.clips_per_class[split]):
                for label, name in enumerate(CLASS_NAMES):
                    combination = self._combination(split_index, label, index)
                    planned.append(PlannedClip(
                        split=split, label=label, source_id=f"synthetic/{split}/{name}/{index:05d}",
                        actor=appearance_id(combination), payload=(split_index, index)))
        return CLASS_NAMES, planned

    def load(self, planned):
        split_index, index = planned.payload
        rng = self._rng(split_index, planned.label, index)
        combination = self._combination(split_index, planned.label, index)
        return render_clip(planned.label, combination, rng, self.num_frames, self.image_size)

    def _rng(self, split_index, label, index):
        return np.random.default_rng([self.seed, split_index, label, index])

    def _combination(self, split_index, label, index):
        combos = appearance_combinations(SPLITS[split_index], self.seed)
        # A separate stream from the rendering one, so the combination is cheap to look up.
        rng = np.random.default_rng([self.seed, split_index, label, index, len(combos)])
        return combos[rng.integers(len(combos))]


def render_clip(label, combination, rng, num_frames, image_size):
    """Renders one clip.

    Args:
        label: class index into `CLASS_NAMES` (selects the motion).
        combination: `(shape, colour, texture)` indices.
        rng: a `numpy.random.Generator` for everything else (size, position, background, phase).
        num_frames: frames to render.
        image_size: frame height and width.

    Returns:
        uint8 array `(num_frames, image_size, image_size, 3)`.
    """
    shape, colour, texture = combination
    scale = image_size / _REFERENCE_SIZE
    radius = rng.uniform(*_RADIUS_RANGE) * scale
    start = rng.uniform(0, image_size, size=2)  # (x, y); the frame wraps around
    background = _background(rng, image_size)
    centres, radii = _trajectory(CLASS_NAMES[label], start, radius, rng, num_frames, scale)
    colour = np.asarray(COLOURS[colour]) * rng.uniform(0.85, 1.0)
    ys, xs = np.mgrid[0:image_size, 0:image_size].astype(np.float64) + 0.5
    frames = np.empty((num_frames, image_size, image_size, 3), np.uint8)
    for t in range(num_frames):
        # Offsets to the object centre on the torus, so objects wrap around the frame edges.
        dx = (xs - centres[t, 0] + image_size / 2) % image_size - image_size / 2
        dy = (ys - centres[t, 1] + image_size / 2) % image_size - image_size / 2
        alpha = np.clip(0.5 - _signed_distance(SHAPES[shape], dx, dy, radii[t]), 0.0, 1.0)
        shade = _texture(TEXTURES[texture], dx / radii[t], dy / radii[t])
        fill = colour[None, None, :] * shade[..., None]
        image = alpha[..., None] * fill + (1.0 - alpha[..., None]) * background
        frames[t] = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    return frames


def _trajectory(motion, start, radius, rng, num_frames, scale):
    """Per-frame object centres `(T, 2)` (x, y) and radii `(T,)` for one motion class."""
    t = np.arange(num_frames, dtype=np.float64)
    phase = rng.uniform(0, 2 * np.pi)
    centres = np.repeat(start[None, :], num_frames, axis=0)
    radii = np.full(num_frames, radius)
    if motion in TRANSLATION_DIRECTIONS:
        speed = rng.uniform(*_SPEED_RANGE) * scale
        direction = np.asarray(TRANSLATION_DIRECTIONS[motion], np.float64)
        centres = centres + speed * t[:, None] * direction
    elif motion in ("orbit_clockwise", "orbit_counterclockwise"):
        orbit = rng.uniform(*_ORBIT_RADIUS_RANGE) * scale
        sign = 1.0 if motion == "orbit_clockwise" else -1.0  # image y points down
        angle = phase + sign * 2 * np.pi * t / _ORBIT_PERIOD
        centres = centres + orbit * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    elif motion == "pulse":
        radii = radius * (1.0 + _PULSE_AMPLITUDE * np.sin(phase + 2 * np.pi * t / _PULSE_PERIOD))
    elif motion == "shake":
        amplitude = rng.uniform(*_SHAKE_AMPLITUDE_RANGE) * scale
        centres[:, 0] += amplitude * np.sin(phase + 2 * np.pi * t / _SHAKE_PERIOD)
    else:
        raise ValueError(f"Unknown motion {motion!r}; expected one of {CLASS_NAMES}.")
    return centres, radii


def _signed_distance(shape, dx, dy, r):
    """Signed distance in pixels to the outline of `shape` of size `r` (negative inside)."""
    ax, ay = np.abs(dx), np.abs(dy)
    if shape == "circle":
        return np.hypot(dx, dy) - r
    if shape == "square":
        return np.maximum(ax, ay) - 0.85 * r
    if shape == "diamond":
        return (ax + ay - 1.2 * r) / np.sqrt(2.0)
    if shape == "triangle":  # apex up at (0, -r), base corners at (+-0.95 r, 0.6 r)
        side = (1.6 * ax - 0.95 * (dy + r)) / np.hypot(1.6, 0.95)
        return np.maximum(side, dy - 0.6 * r)
    if shape == "cross":
        bar = 0.38 * r
        return np.minimum(np.maximum(ax - r, ay - bar), np.maximum(ax - bar, ay - r))
    raise ValueError(f"Unknown shape {shape!r}; expected one of {SHAPES}.")


def _texture(texture, u, v):
    """Brightness factor in [0.45, 1] at object coordinates `(u, v)` (in object radii)."""
    if texture == "solid":
        return np.ones_like(u)
    frequency = 2 * np.pi / _TEXTURE_PERIOD
    if texture == "stripes":
        return np.where(np.sin(frequency * (u + v)) > 0, 1.0, 0.45)
    if texture == "checker":
        return np.where(np.sin(frequency * u) * np.sin(frequency * v) > 0, 1.0, 0.45)
    raise ValueError(f"Unknown texture {texture!r}; expected one of {TEXTURES}.")


def _background(rng, image_size):
    """A static `(H, W, 3)` background in [0, 1]: a dark, low-saturation colour in one of
    `BACKGROUNDS`' patterns.

    Dark and plain, so that the moving object carries most of each frame's variance: with the
    version-1 mix of dark and light backgrounds, reconstructions learnt the background's brightness
    first and the objects (and their colour) only thousands of steps later."""
    value = rng.uniform(*_BACKGROUND_VALUE_RANGE)
    tint = rng.uniform(-_BACKGROUND_TINT, _BACKGROUND_TINT, size=3)
    base = np.clip(value + tint, 0.0, 1.0)
    kind = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    ramp = np.linspace(-0.12, 0.12, image_size)
    if kind == "flat":
        shade = np.zeros((image_size, image_size))
    elif kind == "vertical_gradient":
        shade = np.repeat(ramp[:, None], image_size, axis=1)
    elif kind == "horizontal_gradient":
        shade = np.repeat(ramp[None, :], image_size, axis=0)
    else:
        period = max(4, image_size // 8)
        ys, xs = np.mgrid[0:image_size, 0:image_size]
        shade = np.where((xs % period == 0) | (ys % period == 0), 0.08, 0.0)
    return np.clip(base[None, None, :] + shade[..., None], 0.0, 1.0)
