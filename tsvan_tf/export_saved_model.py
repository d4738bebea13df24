"""Exporting a trained generator as a SavedModel for TF Serving (`keras.export.ExportArchive`).

The export needs no `tsvan_tf` code to run: `tf.saved_model.load(path)` in a process that imports
only TensorFlow, `saved_model_cli`, or TF Serving. Its signatures (the first is also
`serving_default`), with B the batch, T the motion-noise steps, K the classes:

- `generate(label: int32[B], content_noise: float32[B, C], motion_noise: float32[B, T, M])
  -> {"video": float32[B, T + 1 - warmup_frames, H, W, 3]}`, clipped to [-1, 1]. T is free
  (at least `max(warmup_frames, 1)`): `metadata()["motion_noise_steps"]` gives the trained length.
- `generate_dict({"label", "content_noise", "motion_noise"}) -> {"video"}`: the same with one
  dict input, the form `keras.layers.TFSMLayer(path, call_endpoint="generate_dict")` can call.
- `sample(label: int32[B], seed: int32[2]) -> {"video": uint8[B, frames, H, W, 3]}`: the noise is
  drawn in the graph by `tsvan_tf.sampling.draw_noise` (stateless, so a seed fixes the videos).
- `class_names() -> {"names": string[K]}`: the class name of each label (also written, one per
  line, to `assets.extra/class_names.txt` beside the SavedModel).
- `metadata() -> {"content_dim", "motion_dim", "motion_noise_steps", "frames", "warmup_frames",
  "resolution", "num_classes", "step"}`: int64 scalars describing the inputs and the checkpoint.

A label outside [0, K) or a noise of the wrong shape fails inside the graph with
`InvalidArgumentError` naming the valid range or the expected shape. C, M and T are left
dynamic in the signatures so that these checks run for every client (TF Serving does not
check a request against the signature's static shapes).
"""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from tsvan_tf import sampling

CLASS_NAMES_FILE = "class_names.txt"


class ExportError(ValueError):
    """An export that cannot be written (the version already exists, a bad version number)."""


def generate_any_length(generator, labels, content_noise, motion_noise):
    """`generator.generate` as a `tf.while_loop`, so the number of steps may be dynamic.

    The same computation as `TwoStreamVAN.generate` (frame 0 from the content noise, then each
    motion code (`motion_code` of the noise) predicts the next frame from the last one after the
    history observed the last difference; the first `warmup_frames` are dropped), but traced
    once for every T, so one SavedModel serves any video length. Needs at least one step.

    Args:
        generator: a built `TwoStreamVAN` or `SingleStreamVAN`.
        labels: int32 `(batch,)`.
        content_noise: `(batch, content_dim)`.
        motion_noise: `(batch, steps, motion_dim)`, `steps >= max(warmup_frames, 1)`.

    Returns:
        `(batch, steps + 1 - warmup_frames, res, res, 3)` in the generator's compute dtype.
    """
    first = generator.decode_content(generator.content_code(content_noise), labels)[0]
    motion_codes = generator.motion_code(labels, motion_noise)
    state = generator.motion_generator.initial_state(tf.shape(first)[0])
    joint_kernel = generator.motion_generator.joint_kernel()  # cast once, outside the loop
    second = generator.predict_frame(first, labels, motion_codes[:, 0], state,
                                     joint_kernel=joint_kernel)[0]
    steps = tf.shape(motion_noise)[1]
    frames = tf.TensorArray(first.dtype, size=steps + 1, element_shape=first.shape)
    frames = frames.write(0, first).write(1, second)

    def body(step, previous, current, state, frames):
        state = generator.observe_motion(previous, current, state)
        following = generator.predict_frame(current, labels, motion_codes[:, step], state,
                                            joint_kernel=joint_kernel)[0]
        return step + 1, current, following, state, frames.write(step + 1, following)

    *_, frames = tf.while_loop(lambda step, *_: step < steps, body,
                               (tf.constant(1), first, second, state, frames))
    videos = tf.transpose(frames.stack(), (1, 0, 2, 3, 4))
    return videos[:, generator.config.warmup_frames:]


def _checked_labels(label, num_classes):
    """`label`, after an in-graph check that every value lies in [0, num_classes)."""
    check = tf.debugging.Assert(
        tf.reduce_all((label >= 0) & (label < num_classes)),
        [f"`label` must hold class indices in [0, {num_classes}) (the class_names signature "
         f"maps them to names). Received label:", label], summarize=64)
    with tf.control_dependencies([check]):
        return tf.identity(label)


def _checked_noise(label, content_noise, motion_noise, config):
    """The noises with static C and M, after in-graph checks of their shapes against `label`."""
    batch = tf.shape(label)[0]
    min_steps = max(config.warmup_frames, 1)
    content_shape, motion_shape = tf.shape(content_noise), tf.shape(motion_noise)
    checks = [
        tf.debugging.Assert(
            tf.reduce_all(tf.equal(content_shape, tf.stack([batch, config.content_dim]))),
            [f"`content_noise` must have shape [B, {config.content_dim}] with B the length of "
             f"`label`. Received content_noise shape, B:", content_shape, batch]),
        tf.debugging.Assert(
            (motion_shape[0] == batch) & (motion_shape[1] >= min_steps)
            & (motion_shape[2] == config.motion_dim),
            [f"`motion_noise` must have shape [B, T, {config.motion_dim}] with B the length of "
             f"`label` and T >= {min_steps} (the video has T + 1 - {config.warmup_frames} frames; "
             f"T = {config.motion_noise_steps} gives the trained {config.frames}). Received "
             f"motion_noise shape, B:", motion_shape, batch]),
    ]
    with tf.control_dependencies(checks):
        return (tf.ensure_shape(tf.identity(content_noise), (None, config.content_dim)),
                tf.ensure_shape(tf.identity(motion_noise), (None, None, config.motion_dim)))


def _to_uint8(videos):
    """[-1, 1] -> uint8 [0, 255] as `tsvan_tf.media.to_uint8`: `round((clip(x) + 1) * 127.5)`."""
    return tf.cast(tf.round((tf.clip_by_value(videos, -1.0, 1.0) + 1.0) * 127.5), tf.uint8)


def build_export_archive(trained):
    """Builds the `ExportArchive` of a trained generator (see the module docstring).

    Args:
        trained: a `tsvan_tf.trained_model.TrainedModel`; its generator may use any dtype
            policy (outputs are float32 / uint8 regardless).

    Returns:
        A `keras.export.ExportArchive`, ready for `write_out`.
    """
    generator, config = trained.generator, trained.model_config
    frame_shape = (config.resolution, config.resolution, 3)
    label_spec = tf.TensorSpec((None,), tf.int32, name="label")
    noise_specs = {
        "label": label_spec,
        "content_noise": tf.TensorSpec((None, None), tf.float32, name="content_noise"),
        "motion_noise": tf.TensorSpec((None, None, None), tf.float32, name="motion_noise"),
    }

    # The generator is traced once, in `videos`; every endpoint calls that one function.
    videos = tf.function(
        lambda label, content_noise, motion_noise: tf.cast(
            generate_any_length(generator, label, content_noise, motion_noise), tf.float32),
        input_signature=[label_spec, tf.TensorSpec((None, config.content_dim), tf.float32),
                         tf.TensorSpec((None, None, config.motion_dim), tf.float32)])

    @tf.function(input_signature=list(noise_specs.values()))
    def generate(label, content_noise, motion_noise):
        label = _checked_labels(label, config.num_classes)
        content_noise, motion_noise = _checked_noise(label, content_noise, motion_noise, config)
        return {"video": tf.clip_by_value(videos(label, content_noise, motion_noise), -1.0, 1.0)}

    def sample(label, seed):
        label = _checked_labels(label, config.num_classes)
        content_noise, motion_noise = sampling.draw_noise(config, tf.shape(label)[0], seed)
        return {"video": tf.ensure_shape(_to_uint8(videos(label, content_noise, motion_noise)),
                                         (None, config.frames) + frame_shape)}

    metadata = {
        "content_dim": config.content_dim, "motion_dim": config.motion_dim,
        "motion_noise_steps": config.motion_noise_steps, "frames": config.frames,
        "warmup_frames": config.warmup_frames, "resolution": config.resolution,
        "num_classes": config.num_classes, "step": trained.step,
    }
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint("generate", generate)
    archive.add_endpoint("generate_dict", lambda inputs: generate(**inputs),
                         input_signature=[noise_specs])
    archive.add_endpoint("sample", sample, input_signature=[
        label_spec, tf.TensorSpec((2,), tf.int32, name="seed")])
    archive.add_endpoint("class_names",
                         lambda: {"names": tf.constant(list(trained.class_names), tf.string)},
                         input_signature=[])
    archive.add_endpoint("metadata",
                         lambda: {k: tf.constant(v, tf.int64) for k, v in metadata.items()},
                         input_signature=[])
    return archive


def existing_versions(export_dir):
    """The numeric version sub-directories of `export_dir`, ascending."""
    if not os.path.isdir(export_dir):
        return []
    return sorted(int(name) for name in os.listdir(export_dir) if name.isdigit())


def choose_version(export_dir, step, version=None):
    """The version to write: `version`, else `step` if free, else one above the highest.

    Raises:
        ExportError: a negative `version`, or one that already exists.
    """
    existing = existing_versions(export_dir)
    if version is None:
        return step if step not in existing else max(existing) + 1
    if version < 0:
        raise ExportError(f"--version must be a non-negative integer. Received: {version}")
    if version in existing or os.path.exists(os.path.join(export_dir, str(version))):
        raise ExportError(
            f"{os.path.join(export_dir, str(version))} already exists and exports never "
            f"overwrite a version; pass another --version (existing: {existing}).")
    return version


def export_saved_model(trained, export_dir, version=None):
    """Writes `export_dir/<version>/`, a SavedModel in TF Serving's layout, atomically.

    Beside the SavedModel, `assets.extra/class_names.txt` lists the class names, one per line
    in label order. Both are written to a hidden temporary directory inside `export_dir` (which
    TF Serving ignores: its name is not a number) and renamed into place, so a failed export
    leaves no partial version behind.

    Args:
        trained: a `tsvan_tf.trained_model.TrainedModel`.
        export_dir: the model's base directory (what TF Serving's `--model_base_path` names).
        version: the version number; default as `choose_version`.

    Returns:
        The path of the new version directory.

    Raises:
        ExportError: as `choose_version`, or the version appeared while exporting.
    """
    version = choose_version(export_dir, trained.step, version)
    archive = build_export_archive(trained)
    os.makedirs(export_dir, exist_ok=True)
    target = os.path.join(export_dir, str(version))
    staging = tempfile.mkdtemp(dir=export_dir, prefix=f".tmp-{version}-")
    try:
        archive.write_out(os.path.join(staging, "saved_model"), verbose=False)
        extra = os.path.join(staging, "saved_model", "assets.extra")
        os.makedirs(extra)
        with open(os.path.join(extra, CLASS_NAMES_FILE), "w") as f:
            f.write("".join(f"{name}\n" for name in trained.class_names))
        if os.path.exists(target):
            raise ExportError(f"{target} appeared while exporting; it was left as it is.")
        os.rename(os.path.join(staging, "saved_model"), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
