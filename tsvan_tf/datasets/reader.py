"""`load_clips`: the tf.data reader of prepared shards (graph-only: no Python per element)."""

import tensorflow as tf

from tsvan_tf.datasets.clip_record import FEATURE_SPEC
from tsvan_tf.datasets.manifest import read_manifest

_DEFAULT_SHUFFLE_BUFFER = 1024
_MAX_PARALLEL_SHARD_READS = 8
_UINT8_HALF_RANGE = 127.5


def load_clips(data_dir, split="train", frames=10, batch_size=16, training=None,
               frame_stride=None, max_frame_stride=None, image_size=None,
               shuffle_buffer=_DEFAULT_SHUFFLE_BUFFER, repeat=None, seed=None,
               drop_remainder=True, input_context=None,
               auto_shard_policy=tf.data.experimental.AutoShardPolicy.AUTO):
    """Reads clips of a prepared dataset as batches of videos.

    Per clip, a window of `frames` frames, `stride` apart, is chosen (random start when training,
    start 0 for evaluation, as the original) and **only those frames are decoded**, inside the
    graph. Then the dataset's crop (manifest `crop_size`: random offset when training, centred
    otherwise, or the manifest's `crop_max_offset` / `crop_eval_offset`) and a bilinear resize to
    `image_size` are applied.

    Args:
        data_dir: a folder prepared by `prepare_dataset` / `python -m tsvan_tf.datasets.prepare`.
        split: the split to read (`"train"` or `"test"`).
        frames: frames per clip (T).
        batch_size: clips per batch (the global batch under `tf.distribute`, per input pipeline
            with `input_context`).
        training: random window start, random crop offset, random stride (if
            `max_frame_stride`) and shuffling; defaults to `split == "train"`.
        frame_stride: the step between sampled frames; None uses the manifest's per-class
            strides (1 unless the dataset says otherwise).
        max_frame_stride: when training, each clip's stride is drawn uniformly from
            `[stride, max_frame_stride]`, capped by the clip's length; None keeps it fixed.
        image_size: output `(height, width)` or an int for square frames; None keeps the crop
            size, or the stored size if the dataset has no crop.
        shuffle_buffer: clips in the shuffle buffer (training only).
        repeat: repeat indefinitely; defaults to `training`.
        seed: seeds shuffling and the random windows and crops, for a reproducible stream.
        drop_remainder: drop a last incomplete batch (static batch dimension).
        input_context: a `tf.distribute.InputContext` (from
            `strategy.distribute_datasets_from_function`): shards are split across input
            pipelines here and auto-sharding is turned off.
        auto_shard_policy: the `tf.data.experimental.AutoShardPolicy` applied under
            `strategy.experimental_distribute_dataset` (AUTO: by shard file, by element when
            there are fewer files than workers; then give every worker the same `seed`, so
            that they shuffle alike and the element shards partition the data).

    Returns:
        A `tf.data.Dataset` of `{"video": float32 (batch, frames, height, width, 3) in [-1, 1],
        "label": int32 (batch,)}`.

    Raises:
        ValueError: no manifest in `data_dir`, an unknown split, clips shorter than one window,
            a batch larger than the split, or crop offsets outside the frame; each message says
            what was found and expected.
    """
    manifest = read_manifest(data_dir)
    if split not in manifest.splits:
        raise ValueError(
            f"Unknown split {split!r} for {data_dir}. Available splits: {sorted(manifest.splits)}."
        )
    training = split == "train" if training is None else training
    repeat = training if repeat is None else repeat
    info = manifest.splits[split]
    num_clips = info["num_clips"]
    if num_clips == 0:
        raise ValueError(
            f"Split {split!r} of {data_dir} has no clips (see the manifest's skip list).")
    if batch_size < 1:
        raise ValueError(f"Expected batch_size >= 1. Received: batch_size={batch_size}")
    strides = _strides(manifest, frame_stride, max_frame_stride if training else None)
    _check_window(manifest, split, info, frames, strides)
    num_pipelines = input_context.num_input_pipelines if input_context else 1
    if drop_remainder and batch_size > num_clips // num_pipelines:
        raise ValueError(
            f"batch_size={batch_size} is larger than split {split!r} of {data_dir}, which has "
            f"{num_clips} clips ({num_pipelines} input pipeline(s)). Use a smaller batch_size or "
            "drop_remainder=False."
        )
    _check_crop(manifest)
    height, width = manifest.crop_size or manifest.resolution
    out_size = _as_size(image_size) if image_size is not None else (height, width)

    files = manifest.shard_paths(split)
    dataset = tf.data.Dataset.from_tensor_slices(files)
    shard_records = False
    if input_context is not None:
        if len(files) >= num_pipelines:
            dataset = dataset.shard(num_pipelines, input_context.input_pipeline_id)
        else:
            shard_records = True
    if training:
        dataset = dataset.shuffle(len(files), seed=seed)
    dataset = dataset.interleave(
        tf.data.TFRecordDataset, cycle_length=min(len(files), _MAX_PARALLEL_SHARD_READS),
        num_parallel_calls=tf.data.AUTOTUNE)
    if shard_records:
        dataset = dataset.shard(num_pipelines, input_context.input_pipeline_id)
    if training:
        dataset = dataset.shuffle(min(shuffle_buffer, num_clips), seed=seed)
    if repeat:
        dataset = dataset.repeat()
    # One stateless seed per clip, drawn by a cheap sequential map (reproducible for a given
    # `seed`, fresh every epoch); the parallel decode below is then deterministic per clip.
    # (Zipping with `Dataset.random` would add a second source and defeat auto-sharding.)
    @tf.autograph.experimental.do_not_convert
    def with_seed(serialized):
        return serialized, tf.random.uniform([2], maxval=tf.int64.max, dtype=tf.int64, seed=seed)

    dataset = dataset.map(with_seed)
    decode = _make_decoder(manifest, frames, strides, training, out_size)
    dataset = dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder,
                            num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF if input_context is not None
        else auto_shard_policy)
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


def _as_size(size):
    if isinstance(size, int):
        return (size, size)
    return tuple(int(s) for s in size)


def _strides(manifest, frame_stride, max_frame_stride):
    """Returns `(base, maximum)` per-class stride lists."""
    base = ([frame_stride] * manifest.num_classes if frame_stride is not None
            else list(manifest.frame_strides))
    if min(base) < 1:
        raise ValueError(f"Expected frame_stride >= 1. Received: frame_stride={frame_stride}")
    if max_frame_stride is None:
        return base, base
    if max_frame_stride < max(base):
        raise ValueError(
            f"Expected max_frame_stride >= the frame stride ({max(base)}). "
            f"Received: max_frame_stride={max_frame_stride}"
        )
    return base, [max_frame_stride] * manifest.num_classes


def _check_window(manifest, split, info, frames, strides):
    """Refuses a window longer than the shortest clip of any class in `split`."""
    if frames < 1:
        raise ValueError(f"Expected frames >= 1. Received: frames={frames}")
    for label, shortest in enumerate(info["min_frames_per_class"]):
        if shortest is None:
            continue
        needed = (frames - 1) * strides[0][label] + 1
        if shortest < needed:
            raise ValueError(
                f"Clips of class {manifest.class_names[label]!r} in split {split!r} of "
                f"{manifest.data_dir} are too short for one window: the shortest has {shortest} "
                f"frames; frames={frames} at stride {strides[0][label]} needs {needed}. Use fewer "
                "frames, a smaller stride, or prepare with min_frames >= the window."
            )


def _check_crop(manifest):
    """Refuses a crop, or crop offsets, that do not fit in the stored frames."""
    if manifest.crop_size is None:
        return
    margin = [s - c for s, c in zip(manifest.resolution, manifest.crop_size)]
    for name in ("crop_max_offset", "crop_eval_offset"):
        offset = getattr(manifest, name) or (0, 0)
        if min(margin) < 0 or any(not 0 <= o <= m for o, m in zip(offset, margin)):
            raise ValueError(
                f"The manifest of {manifest.data_dir} has crop_size={manifest.crop_size} and "
                f"{name}={getattr(manifest, name)} for {manifest.height}x{manifest.width} frames; "
                f"expected offsets in [0, {margin}]. Prepare the dataset again."
            )


def _make_decoder(manifest, frames, strides, training, out_size):
    """Returns `(serialized, seed) -> {"video", "label"}` for one clip, all in-graph."""
    base_strides = tf.constant(strides[0], tf.int32)
    max_strides = tf.constant(strides[1], tf.int32)
    height, width = manifest.resolution
    crop = manifest.crop_size
    decode_image = (tf.io.decode_png if manifest.image_format == "png" else tf.io.decode_jpeg)

    @tf.autograph.experimental.do_not_convert  # no tensor-dependent Python control flow
    def decode(serialized, seed):
        example = tf.io.parse_single_example(serialized, FEATURE_SPEC)
        encoded = example["frames"].values
        num_frames = tf.shape(encoded, out_type=tf.int32)[0]
        label = tf.cast(example["label"], tf.int32)
        seeds = tf.random.experimental.stateless_split(seed, num=3)
        stride = base_strides[label]
        if training and frames > 1:
            longest = tf.minimum(max_strides[label], (num_frames - 1) // (frames - 1))
            stride = tf.random.stateless_uniform([], seeds[0], minval=stride,
                                                 maxval=tf.maximum(longest, stride) + 1,
                                                 dtype=tf.int32)
        span = (frames - 1) * stride + 1
        start = 0
        if training:
            start = tf.random.stateless_uniform([], seeds[1], minval=0,
                                                maxval=num_frames - span + 1, dtype=tf.int32)
        window = tf.gather(encoded, start + stride * tf.range(frames))
        video = tf.stack([decode_image(window[i], channels=3) for i in range(frames)])
        video = tf.ensure_shape(video, [frames, height, width, 3])
        if crop is not None:
            video = _crop(video, crop, training, seeds[2], manifest.crop_max_offset,
                          manifest.crop_eval_offset)
        video = tf.cast(video, tf.float32)
        if tuple(video.shape[1:3]) != tuple(out_size):
            video = tf.image.resize(video, out_size, method="bilinear")
        return {"video": video / _UINT8_HALF_RANGE - 1.0, "label": label}

    return decode


def _crop(video, crop, training, seed, max_offset, eval_offset):
    """Crops `(T, H, W, 3)` to `crop`: a random offset in `[0, max_offset]` (the whole margin if
    None) when training, `eval_offset` (centred if None) otherwise."""
    crop_h, crop_w = crop
    height, width = video.shape[1], video.shape[2]
    if training:
        max_top, max_left = max_offset or (height - crop_h, width - crop_w)
        offset = tf.random.stateless_uniform([2], seed, minval=0, maxval=2**30, dtype=tf.int32)
        top = offset[0] % (max_top + 1)
        left = offset[1] % (max_left + 1)
    else:
        top, left = eval_offset or ((height - crop_h) // 2, (width - crop_w) // 2)
    return video[:, top:top + crop_h, left:left + crop_w, :]
