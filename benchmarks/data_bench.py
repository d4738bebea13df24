r"""Data pipeline benchmark: prepare throughput, shard bytes per clip and `load_clips` clips/s.

Two datasets are prepared into a scratch folder and read back at 64x64, T=10, batch 16:

* `synthetic`: the embedded dataset at its defaults (PNG frames);
* `mp4 folder`: synthetic clips of `--source_size` pixels encoded as H.264 mp4 files (one
  sub-folder per class), prepared with `--dataset=video_folder` (decode, resize to 64, JPEG q95).

    python benchmarks/data_bench.py --num_workers=2

Prints one table; nothing is asserted (timings belong here, not in tests).
"""

import os
import tempfile
import time

import av
from absl import app
from absl import flags

from tsvan_tf import datasets
from tsvan_tf.datasets import synthetic

_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Prepare processes.")
_WORK_DIR = flags.DEFINE_string("work_dir", None, "Scratch folder (a temporary one if unset).")
_FRAMES = flags.DEFINE_integer("frames", 10, "Frames per clip read (T).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Clips per batch.")
_WARMUP_BATCHES = flags.DEFINE_integer("warmup_batches", 30, "Batches read before timing.")
_TIMED_BATCHES = flags.DEFINE_integer("timed_batches", 300, "Batches timed.")
_MP4_CLIPS_PER_CLASS = flags.DEFINE_integer("mp4_clips_per_class", 25, "mp4 files per class.")
_MP4_FRAMES = flags.DEFINE_integer("mp4_frames", 32, "Frames per mp4 file.")
_SOURCE_SIZE = flags.DEFINE_integer("source_size", 128, "Frame size of the mp4 files.")


def write_mp4_folder(root, clips_per_class, num_frames, size):
    """Writes synthetic clips as H.264 mp4 files, one sub-folder per class.

    Returns:
        The number of files written.
    """
    source = synthetic.SyntheticSource(train_clips_per_class=clips_per_class,
                                       test_clips_per_class=1, num_frames=num_frames,
                                       image_size=size)
    class_names, planned = source.plan()
    count = 0
    for clip in planned:
        if clip.split != "train":
            continue
        folder = os.path.join(root, class_names[clip.label])
        os.makedirs(folder, exist_ok=True)
        frames = source.load(clip)
        with av.open(os.path.join(folder, f"{count:05d}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.height, stream.width = size, size
            stream.pix_fmt = "yuv420p"
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
        count += 1
    return count


def time_prepare(name, output, **kwargs):
    """Prepares a dataset; returns `(manifest, clips/s, bytes per clip)`."""
    start = time.perf_counter()
    manifest = datasets.prepare_dataset(name, output, num_workers=_NUM_WORKERS.value,
                                        progress=False, **kwargs)
    seconds = time.perf_counter() - start
    num_clips = sum(manifest.num_clips(s) for s in manifest.splits)
    num_bytes = sum(os.path.getsize(p) for s in manifest.splits for p in manifest.shard_paths(s))
    return manifest, num_clips / seconds, num_bytes / num_clips


def time_reader(data_dir):
    """Returns training-mode `load_clips` throughput in clips/s."""
    dataset = datasets.load_clips(data_dir, "train", frames=_FRAMES.value,
                                  batch_size=_BATCH_SIZE.value, image_size=64)
    iterator = iter(dataset)
    for _ in range(_WARMUP_BATCHES.value):
        next(iterator)
    start = time.perf_counter()
    for _ in range(_TIMED_BATCHES.value):
        next(iterator)
    return _TIMED_BATCHES.value * _BATCH_SIZE.value / (time.perf_counter() - start)


def main(argv):
    del argv
    with tempfile.TemporaryDirectory() as scratch:
        root = _WORK_DIR.value or scratch
        rows = []
        manifest, prepare_rate, clip_bytes = time_prepare(
            "synthetic", os.path.join(root, "synthetic"))
        rows.append(("synthetic (PNG)", manifest, prepare_rate, clip_bytes,
                     time_reader(manifest.data_dir)))
        mp4_dir = os.path.join(root, "mp4_source")
        if not os.path.isdir(mp4_dir):
            write_mp4_folder(mp4_dir, _MP4_CLIPS_PER_CLASS.value, _MP4_FRAMES.value,
                             _SOURCE_SIZE.value)
        manifest, prepare_rate, clip_bytes = time_prepare(
            "video_folder", os.path.join(root, "mp4_prepared"), source_dir=mp4_dir,
            image_size=64, test_fraction=0.2)
        rows.append((f"mp4 folder ({_SOURCE_SIZE.value}px H.264 -> JPEG)", manifest,
                     prepare_rate, clip_bytes, time_reader(manifest.data_dir)))

    print(f"\nload_clips: {_FRAMES.value}x64x64 clips, batch {_BATCH_SIZE.value}, training mode; "
          f"prepare with {_NUM_WORKERS.value} worker(s); {os.cpu_count()} CPU cores")
    print(f"{'dataset':<40} {'clips':>6} {'frames/clip':>11} {'prepare clips/s':>16} "
          f"{'KB/clip':>8} {'read clips/s':>13}")
    for label, manifest, prepare_rate, clip_bytes, read_rate in rows:
        num_clips = sum(manifest.num_clips(s) for s in manifest.splits)
        frames = min(f for s in manifest.splits
                     for f in manifest.splits[s]["min_frames_per_class"] if f is not None)
        print(f"{label:<40} {num_clips:>6} {frames:>11} {prepare_rate:>16.1f} "
              f"{clip_bytes / 1024:>8.1f} {read_rate:>13.0f}")


if __name__ == "__main__":
    app.run(main)
