"""Drawing generator noise from a seed, and sampling grids of videos from a trained generator.

All randomness is stateless (`tf.random.stateless_normal`), so a seed fully determines the noise:
the same seed gives the same videos in any process, in Python, on the command line
(`python -m tsvan_tf.generate`) and inside an exported SavedModel (its `sample` endpoint calls
`draw_noise(config, batch, seed)`; the integer seed `S` is the tensor seed `[S, 0]`).

Example:

>>> from tsvan_tf import sampling
>>> from tsvan_tf.trained_model import load_trained_model
>>> trained = load_trained_model("runs/quickstart")
>>> videos = sampling.sample_videos(trained.generator, [0, 1], num=4, seed=0)
>>> videos.shape   # (2 labels, 4 videos, frames, res, res, 3), values in [-1, 1]
"""

import numpy as np
import tensorflow as tf

MODES = ("random", "fixed_content", "fixed_motion", "interpolate")
MAX_SEED = 2 ** 31 - 1


def as_seed(seed):
    """Converts a seed to the `int32[2]` tensor of the stateless RNG ops.

    Args:
        seed: an int in `[0, 2**31 - 1]` (taken as `[seed, 0]`) or an int32 tensor of shape `(2,)`.

    Returns:
        An int32 tensor of shape `(2,)`.

    Raises:
        ValueError: an int out of range.
    """
    if isinstance(seed, (int, np.integer)):
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"`seed` must be in [0, {MAX_SEED}]. Received: seed={seed}")
        return tf.constant([int(seed), 0], tf.int32)
    return tf.convert_to_tensor(seed, tf.int32)


def noise_steps(model_config, frames=None):
    """The motion-noise length for `frames` output frames (default `model_config.frames`).

    Raises:
        ValueError: fewer frames than one motion step gives (2 without warm-up frames, else 1).
    """
    if frames is None:
        return model_config.motion_noise_steps
    minimum = max(1, 2 - model_config.warmup_frames)
    if frames < minimum:
        raise ValueError(f"`frames` must be >= {minimum} (warmup_frames="
                         f"{model_config.warmup_frames}). Received: frames={frames}")
    return frames + model_config.warmup_frames - 1


def _slerp(start, end, fractions):
    """Spherical interpolation between the rows `start` and `end` of shape `(1, ...)`.

    Follows the great circle between the two noises (their norm stays typical of a Gaussian,
    where a straight line would shrink it mid-way); falls back to a straight line when they are
    (anti)parallel.
    """
    shape = tf.shape(start)[1:]
    a, b = tf.reshape(start, (1, -1)), tf.reshape(end, (1, -1))
    cosine = tf.reduce_sum(tf.math.l2_normalize(a, 1) * tf.math.l2_normalize(b, 1))
    omega = tf.acos(tf.clip_by_value(cosine, -1.0, 1.0))
    t = fractions[:, None]
    sine = tf.sin(omega)
    curve = (tf.sin((1.0 - t) * omega) * a + tf.sin(t * omega) * b) / tf.maximum(sine, 1e-6)
    line = (1.0 - t) * a + t * b
    mixed = tf.where(sine > 1e-6, curve, line)
    return tf.reshape(mixed, tf.concat([[-1], shape], 0))


def draw_noise(model_config, num, seed, mode="random", frames=None):
    """Draws the content and motion noise of `num` videos from a seed.

    Modes:
        random: every video has its own content and motion noise.
        fixed_content: one content noise (one appearance) shared by all, `num` motion noises.
        fixed_motion: one motion noise shared by all, `num` content noises (appearances).
        interpolate: `num` points on the spherical path from one (content, motion) noise pair
            to another, endpoints included.

    Works eagerly and inside a `tf.function` (`num` and `seed` may be tensors).

    Args:
        model_config: the generator's `ModelConfig` (noise sizes, frames, warm-up).
        num: the number of videos.
        seed: an int, or an int32 tensor of shape `(2,)` (see `as_seed`).
        mode: one of `MODES`.
        frames: video length (default `model_config.frames`); sets the motion-noise steps.

    Returns:
        `(content_noise, motion_noise)`: float32 `(num, content_dim)` and
        `(num, steps, motion_dim)` with `steps = frames + warmup_frames - 1`.

    Raises:
        ValueError: an unknown mode, a bad seed or frame count.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown sampling mode {mode!r}; expected one of {', '.join(MODES)}.")
    content_seed, motion_seed = tf.unstack(
        tf.random.experimental.stateless_split(as_seed(seed), 2))
    content_size = (model_config.content_dim,)
    motion_size = (noise_steps(model_config, frames), model_config.motion_dim)

    def normal(count, size, seed_):
        return tf.random.stateless_normal(tf.concat([[count], size], 0), seed=seed_)

    def shared(size, seed_):
        return tf.repeat(normal(1, size, seed_), num, axis=0)

    if mode == "random":
        return normal(num, content_size, content_seed), normal(num, motion_size, motion_seed)
    if mode == "fixed_content":
        return shared(content_size, content_seed), normal(num, motion_size, motion_seed)
    if mode == "fixed_motion":
        return normal(num, content_size, content_seed), shared(motion_size, motion_seed)
    fractions = tf.linspace(0.0, 1.0, num)
    content = normal(2, content_size, content_seed)
    motion = normal(2, motion_size, motion_seed)
    return (_slerp(content[:1], content[1:], fractions),
            _slerp(motion[:1], motion[1:], fractions))


def sample_videos(generator, labels, num, seed, mode="random", frames=None):
    """Generates a grid of videos: one row per label, the same `num` noises in every row.

    Args:
        generator: a `TwoStreamVAN` or `SingleStreamVAN` (e.g. `load_trained_model(...).generator`).
        labels: a list of label indices (rows).
        num: videos per label (columns).
        seed: an int (see `as_seed`).
        mode: how the `num` noises relate, one of `MODES` (see `draw_noise`).
        frames: video length (default the model's `config.frames`).

    Returns:
        float32 NumPy array `(len(labels), num, frames, res, res, 3)`, clipped to [-1, 1].

    Raises:
        ValueError: no labels, `num` < 1, or as `draw_noise`.
    """
    if not labels or num < 1:
        raise ValueError(f"Need at least one label and `num` >= 1. Received: labels={labels}, "
                         f"num={num}")
    content, motion = draw_noise(generator.config, num, seed, mode, frames)
    rows = len(labels)
    videos = generator.generate(
        tf.constant(np.repeat(np.asarray(labels, np.int32), num)),
        tf.tile(content, (rows, 1)), tf.tile(motion, (rows, 1, 1)))
    videos = np.clip(np.asarray(videos, np.float32), -1.0, 1.0)
    return videos.reshape((rows, num) + videos.shape[1:])
