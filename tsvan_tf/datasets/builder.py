"""`prepare_dataset`: runs a `ClipSource` into TFRecord shards plus `manifest.json`, resumably."""

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import re
import types

from absl import logging

from tsvan_tf.datasets import _atomic
from tsvan_tf.datasets import registry
from tsvan_tf.datasets.clip_record import ClipRecord
from tsvan_tf.datasets.clip_skipped import ClipSkipped
from tsvan_tf.datasets.manifest import FORMAT_VERSION
from tsvan_tf.datasets.manifest import MANIFEST_FILENAME
from tsvan_tf.datasets.manifest import Manifest
from tsvan_tf.datasets.manifest import read_manifest
from tsvan_tf.datasets.shard_writer import ShardWriter
from tsvan_tf.progress import ProgressBar

DEFAULT_CLIPS_PER_SHARD = 128
_SHARD_SUFFIX = ".tfrecord"
_DONE_SUFFIX = ".done.json"
_SHARD_NAME = re.compile(r"\w+-\d{5}-of-\d{5}\.tfrecord(\.done\.json)?")
_WORKER_CHUNKSIZE = 4

# The source a worker process loads clips with (set once per process by `_init_worker`).
_worker_source = None


def prepare_dataset(dataset, output_dir, source_dir=None, num_workers=1,
                    clips_per_shard=DEFAULT_CLIPS_PER_SHARD, progress=True, **options):
    """Prepares a dataset into `output_dir` (TFRecord shards and `manifest.json`).

    Re-running the same call finishes an interrupted preparation (completed shards are kept,
    partial ones redone) or, on a finished folder, does nothing and says so.

    Args:
        dataset: a registered source name (`registry.dataset_names()`), e.g. `"synthetic"` or
            `"video_folder"`.
        output_dir: where shards and the manifest go (created if needed).
        source_dir: the input folder, for sources that read one (None for `"synthetic"`).
        num_workers: processes that decode/generate clips in parallel (1: in this process).
            Workers are spawned (each imports TensorFlow, a few seconds), so more than 1 pays off
            for large sources; as with any spawn-based multiprocessing, a calling script must
            keep its work under `if __name__ == "__main__":`.
        clips_per_shard: clips per shard file (planned clips; skipped ones leave a shard short).
        progress: draw a progress bar with clips/s on stderr.
        **options: the source's own options (see its `__init__`), e.g. `seed=0` for synthetic or
            `test_fraction=0.2` for video_folder.

    Returns:
        The `Manifest` of the prepared folder.

    Raises:
        ValueError: unknown dataset or option, missing or unusable source (before any work), an
            output folder prepared with other options, or a class left without any usable clip.
    """
    source = _make_source(dataset, source_dir, options)
    if num_workers < 1:
        raise ValueError(f"Expected num_workers >= 1. Received: num_workers={num_workers}")
    if clips_per_shard < 1:
        raise ValueError(
            f"Expected clips_per_shard >= 1. Received: clips_per_shard={clips_per_shard}")
    resolved = {**source.options, "clips_per_shard": clips_per_shard}
    fingerprint = _fingerprint(dataset, resolved)

    existing = _existing_manifest(output_dir, dataset, fingerprint)
    if existing is not None:
        logging.info("%s is already prepared (%s, %s); nothing to do.", output_dir, dataset,
                     ", ".join(f"{s}: {existing.num_clips(s)} clips" for s in existing.splits))
        return existing

    class_names, planned = source.plan()
    os.makedirs(output_dir, exist_ok=True)
    _atomic.remove_stale_temp_files(output_dir)
    shards = _plan_shards(planned, clips_per_shard)
    pending = [s for s in shards if _read_done(output_dir, s["name"], fingerprint) is None]
    if len(pending) < len(shards):
        logging.info("Resuming %s: %d of %d shards already written.", output_dir,
                     len(shards) - len(pending), len(shards))
    _write_shards(source, output_dir, pending, class_names, fingerprint, num_workers, progress)

    manifest = _assemble_manifest(source, dataset, output_dir, shards, class_names, resolved,
                                  fingerprint)
    _remove_stale_shards(output_dir, shards)
    manifest.write(output_dir)
    logging.info("Prepared %s in %s (%s; %d skipped).", dataset, output_dir,
                 ", ".join(f"{s}: {manifest.num_clips(s)} clips" for s in manifest.splits),
                 len(manifest.skipped))
    return read_manifest(output_dir)


def _make_source(dataset, source_dir, options):
    """Looks up and builds the source, refusing unknown options and a misplaced source folder."""
    source_cls = registry.get_source_class(dataset)
    accepted = registry.source_option_names(source_cls)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"Dataset {dataset!r} does not take option(s) {unknown}. Its options are: "
            f"{sorted(accepted)}."
        )
    if source_cls.requires_source_dir:
        if not source_dir:
            raise ValueError(f"Dataset {dataset!r} reads a source folder: pass --source=DIR.")
        return source_cls(source_dir=source_dir, **options)
    if source_dir:
        raise ValueError(
            f"Dataset {dataset!r} is generated and reads no source folder. "
            f"Received: source={source_dir!r}"
        )
    return source_cls(**options)


def _fingerprint(dataset, options):
    text = json.dumps({"dataset": dataset, "options": options, "format": FORMAT_VERSION},
                      sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _existing_manifest(output_dir, dataset, fingerprint):
    """Returns the finished manifest if `output_dir` already holds this dataset, else None."""
    if not os.path.isfile(os.path.join(output_dir, MANIFEST_FILENAME)):
        return None
    manifest = read_manifest(output_dir)
    if manifest.fingerprint != fingerprint:
        raise ValueError(
            f"{output_dir} already holds a prepared dataset ({manifest.source}, options "
            f"{dict(manifest.options)}) that differs from the one requested ({dataset}). "
            "Choose another --output, or delete that folder to prepare it again."
        )
    return manifest


def _plan_shards(planned, clips_per_shard):
    """Groups planned clips by split, in order, into fixed-size shards with stable names."""
    by_split = {}
    for clip in planned:
        by_split.setdefault(clip.split, []).append(clip)
    shards = []
    for split, clips in by_split.items():
        count = -(-len(clips) // clips_per_shard)
        for index in range(count):
            shards.append({
                "split": split,
                "name": f"{split}-{index:05d}-of-{count:05d}{_SHARD_SUFFIX}",
                "clips": clips[index * clips_per_shard:(index + 1) * clips_per_shard],
            })
    return shards


def _remove_stale_shards(output_dir, shards):
    """Deletes shard files an interrupted run with other options left (not in this plan)."""
    planned = {s["name"] for s in shards} | {s["name"] + _DONE_SUFFIX for s in shards}
    for name in os.listdir(output_dir):
        if _SHARD_NAME.fullmatch(name) and name not in planned:
            os.remove(os.path.join(output_dir, name))


def _read_done(output_dir, shard_name, fingerprint):
    """Returns the completion record of a shard written with `fingerprint`, else None."""
    done_path = os.path.join(output_dir, shard_name + _DONE_SUFFIX)
    if not (os.path.isfile(done_path) and os.path.isfile(os.path.join(output_dir, shard_name))):
        return None
    with open(done_path, encoding="utf-8") as f:
        done = json.load(f)
    return done if done.get("fingerprint") == fingerprint else None


def _write_shards(source, output_dir, shards, class_names, fingerprint, num_workers, progress):
    """Loads the clips of `shards` (in parallel when `num_workers > 1`) and writes each shard
    followed by its completion record."""
    clips = [clip for shard in shards for clip in shard["clips"]]
    if not clips:
        return
    bar = ProgressBar(len(clips), "prepare", unit="clips") if progress else _NoProgress()
    if num_workers > 1:
        # "spawn", never "fork": this process has TensorFlow's thread pools running, and a
        # child forked while one of their locks is held deadlocks (seen in the tests). An
        # executor, not `multiprocessing.Pool`: a worker that cannot start raises
        # BrokenProcessPool instead of being restarted forever.
        pool = concurrent.futures.ProcessPoolExecutor(
            num_workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(source,))
        results = pool.map(_load_in_worker, clips, chunksize=_WORKER_CHUNKSIZE)
    else:
        pool = None
        _init_worker(source)
        results = map(_load_in_worker, clips)
    try:
        for shard in shards:
            done = _write_one_shard(output_dir, shard, results, class_names, bar)
            done["fingerprint"] = fingerprint
            _atomic.write_json_atomic(os.path.join(output_dir, shard["name"] + _DONE_SUFFIX), done)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    bar.close()


class _NoProgress:
    """Stands in for the progress bar when `progress=False`."""

    step = 0

    def update(self, step):
        self.step = step

    def clear(self):
        pass

    def close(self):
        pass


def _write_one_shard(output_dir, shard, results, class_names, bar):
    """Writes one shard from the next results; returns its completion record."""
    clips_per_class = [0] * len(class_names)
    min_frames = [None] * len(class_names)
    skipped = []
    frame_size = None
    with ShardWriter(os.path.join(output_dir, shard["name"])) as writer:
        for clip in shard["clips"]:
            record, reason = next(results)
            bar.update(bar.step + 1)
            if record is None:
                bar.clear()
                logging.warning("Skipped %s: %s", clip.source_id, reason)
                skipped.append({"path": clip.source_id, "split": clip.split, "reason": reason})
                continue
            writer.write(record)
            frame_size = [record.height, record.width]
            clips_per_class[clip.label] += 1
            previous = min_frames[clip.label]
            min_frames[clip.label] = (record.num_frames if previous is None
                                      else min(previous, record.num_frames))
    return {"num_clips": writer.num_records, "clips_per_class": clips_per_class,
            "min_frames_per_class": min_frames, "skipped": skipped, "frame_size": frame_size}


def _init_worker(source):
    global _worker_source
    _worker_source = source


def _load_in_worker(clip):
    """Loads and encodes one clip; returns `(ClipRecord, None)` or `(None, reason)`."""
    source = _worker_source
    try:
        frames = source.load(clip)
    except ClipSkipped as skip:
        return None, skip.reason
    if len(frames) < source.min_frames:
        return None, f"{len(frames)} frames, fewer than min_frames={source.min_frames}"
    record = ClipRecord.from_array(frames, clip.label, source.image_format, source.jpeg_quality,
                                   actor=clip.actor, source_id=clip.source_id)
    return record, None


def _assemble_manifest(source, dataset, output_dir, shards, class_names, options, fingerprint):
    """Builds the manifest from the shards' completion records; refuses empty classes."""
    splits = {}
    skipped = []
    dones = [_read_done(output_dir, shard["name"], fingerprint) for shard in shards]
    for shard, done in zip(shards, dones):
        info = splits.setdefault(shard["split"], {
            "num_clips": 0, "shards": [], "clips_per_class": [0] * len(class_names),
            "min_frames_per_class": [None] * len(class_names)})
        skipped.extend(done["skipped"])
        if done["num_clips"]:
            info["shards"].append(shard["name"])
        info["num_clips"] += done["num_clips"]
        for label, (count, frames) in enumerate(zip(done["clips_per_class"],
                                                    done["min_frames_per_class"])):
            info["clips_per_class"][label] += count
            if frames is not None:
                known = info["min_frames_per_class"][label]
                info["min_frames_per_class"][label] = (frames if known is None
                                                       else min(known, frames))
    totals = [sum(info["clips_per_class"][label] for info in splits.values())
              for label in range(len(class_names))]
    empty = [name for name, total in zip(class_names, totals) if total == 0]
    if empty:
        raise ValueError(
            f"No usable clip for class(es) {empty} ({len(skipped)} source files skipped, see the "
            "warnings above); every class needs at least one clip. Nothing was written to "
            f"{os.path.join(output_dir, MANIFEST_FILENAME)}."
        )
    for split, info in splits.items():
        missing = [name for name, n in zip(class_names, info["clips_per_class"]) if n == 0]
        if missing:
            logging.warning("Split %r has no clip of class(es) %s.", split, missing)
    height, width = next(done["frame_size"] for done in dones if done["frame_size"])
    max_offset, eval_offset = source.crop_offsets()
    return Manifest(
        source=dataset,
        class_names=tuple(class_names),
        height=height,
        width=width,
        image_format=source.image_format,
        splits=types.MappingProxyType(splits),
        frame_strides=tuple(source.frame_strides(class_names)),
        crop_size=source.crop_size(),
        crop_max_offset=max_offset,
        crop_eval_offset=eval_offset,
        skipped=tuple(skipped),
        actor_names=tuple(source.actor_names()),
        options=types.MappingProxyType(options),
        fingerprint=fingerprint,
    )
