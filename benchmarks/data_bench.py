r"""Data pipeline benchmark: prepare throughput, shard bytes per clip and `load_clips` clips/s.

Each dataset is prepared into a scratch folder and read back at 64x64, T=10, batch 16:

* `synthetic`: the embedded dataset at its defaults (PNG frames);
* `mp4 folder`: synthetic clips of `--source_size` pixels encoded as H.264 mp4 files (one
  sub-folder per class), prepared with `--dataset=video_folder` (decode, resize to 64, JPEG q95);
* the paper's formats, as generated miniature trees with the real naming and frame sizes:
  `weizmann` (144x180 MPEG-4 .avi files, all 10 actions x 9 actors), `mug` (896x896 JPEG frame
  folders, `--mug_subjects` subjects x 6 expressions, one take each) and `synaction`
  (`(T, 71, 71, 3)` .npy clips, 20 actions x `--synaction_views` views of one character).

    python benchmarks/data_bench.py --num_workers=2

Prints one table; nothing is asserted (timings belong here, not in tests). `read clips/CPU-s`
counts the reader's CPU time over all its threads, so it does not move with other jobs' load: on an
idle machine the read rate is about the core count times it.
"""

import os
import tempfile
import time

import av
import numpy as np
from absl import app
from absl import flags
from PIL import Image

from tsvan_tf import datasets
from tsvan_tf.datasets import mug
from tsvan_tf.datasets import synaction
from tsvan_tf.datasets import synthetic
from tsvan_tf.datasets import weizmann

_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Prepare processes.")
_WORK_DIR = flags.DEFINE_string("work_dir", None, "Scratch folder (a temporary one if unset).")
_FRAMES = flags.DEFINE_integer("frames", 10, "Frames per clip read (T).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Clips per batch.")
_WARMUP_BATCHES = flags.DEFINE_integer("warmup_batches", 30, "Batches read before timing.")
_TIMED_BATCHES = flags.DEFINE_integer("timed_batches", 300, "Batches timed.")
_MP4_CLIPS_PER_CLASS = flags.DEFINE_integer("mp4_clips_per_class", 25, "mp4 files per class.")
_MP4_FRAMES = flags.DEFINE_integer("mp4_frames", 32, "Frames per mp4 file.")
_SOURCE_SIZE = flags.DEFINE_integer("source_size", 128, "Frame size of the mp4 files.")
_PAPER_FRAMES = flags.DEFINE_integer("paper_frames", 60, "Frames per Weizmann video and "
                                     "SynAction clip (a window of 10 at stride 6 needs 55).")
_MUG_FRAMES = flags.DEFINE_integer("mug_frames", 48, "Frames per MUG take (>= 40).")
_MUG_SUBJECTS = flags.DEFINE_integer("mug_subjects", 3, "MUG subjects (6 takes each).")
_SYNACTION_VIEWS = flags.DEFINE_integer("synaction_views", 5, "SynAction views per action.")


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


def moving_frames(index, num_frames, height, width):
    """A synthetic clip (seeded by `index`) rendered at 64x64 and resized to `height x width`.

    Returns:
        uint8 array `(num_frames, height, width, 3)`.
    """
    source = synthetic.SyntheticSource(seed=index, train_clips_per_class=1,
                                       test_clips_per_class=1, num_frames=num_frames)
    frames = source.load(source.plan()[1][index % len(synthetic.CLASS_NAMES)])
    return np.stack([np.asarray(Image.fromarray(f).resize((width, height),
                                                          Image.Resampling.BILINEAR))
                     for f in frames])


def write_weizmann_tree(root, num_frames):
    """Writes `<actor>_<action>.avi` (MPEG-4, 144x180) for every actor and action.

    Returns:
        The number of files written.
    """
    os.makedirs(root)
    count = 0
    for actor in weizmann.ACTORS:
        for action in weizmann.ACTIONS:
            frames = moving_frames(count, num_frames, *weizmann.NATIVE_SIZE)
            with av.open(os.path.join(root, f"{actor}_{action}.avi"), "w") as container:
                stream = container.add_stream("mpeg4", rate=25)
                stream.height, stream.width = frames.shape[1:3]
                stream.pix_fmt = "yuv420p"
                for frame in frames:
                    container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
                container.mux(stream.encode())
            count += 1
    return count


def write_mug_tree(root, num_subjects, num_frames, size=896):
    """Writes `<subject>/<expression>/take000/img_NNNN.jpg` (size x size JPEG frames).

    Returns:
        The number of takes written.
    """
    count = 0
    for subject in range(num_subjects):
        for expression in mug.EXPRESSIONS:
            folder = os.path.join(root, f"{subject + 1:03d}", expression, "take000")
            os.makedirs(folder)
            for t, frame in enumerate(moving_frames(count, num_frames, size, size)):
                Image.fromarray(frame).save(os.path.join(folder, f"img_{t:04d}.jpg"), quality=90)
            count += 1
    return count


def write_synaction_tree(root, num_views, num_frames):
    """Writes `douglas_<action>_0_<view>.npy` clips `(T, 71, 71, 3)`, `num_views` views per
    action starting at its test view.

    Returns:
        The number of files written.
    """
    os.makedirs(root)
    count = 0
    for action_index, action in enumerate(synaction.ACTIONS):
        test_view = action_index * synaction.NUM_VARIANTS % synaction.NUM_VIEWS
        for offset in range(num_views):
            view = (test_view + offset) % synaction.NUM_VIEWS
            np.save(os.path.join(root, f"douglas_{action}_0_{view}.npy"),
                    moving_frames(count, num_frames, *synaction.NATIVE_SIZE))
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
    """Returns training-mode `load_clips` throughput: `(clips per second, clips per CPU-second)`
    (the second, over all threads of this process, does not depend on other jobs' load)."""
    dataset = datasets.load_clips(data_dir, "train", frames=_FRAMES.value,
                                  batch_size=_BATCH_SIZE.value, image_size=64)
    iterator = iter(dataset)
    for _ in range(_WARMUP_BATCHES.value):
        next(iterator)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(_TIMED_BATCHES.value):
        next(iterator)
    num_clips = _TIMED_BATCHES.value * _BATCH_SIZE.value
    return (num_clips / (time.perf_counter() - start),
            num_clips / (time.process_time() - cpu_start))


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
        paper = (
            ("weizmann", "weizmann (144x180 .avi -> 66px JPEG)",
             lambda d: write_weizmann_tree(d, _PAPER_FRAMES.value)),
            ("mug", "mug (896px JPEG frames -> 71px JPEG)",
             lambda d: write_mug_tree(d, _MUG_SUBJECTS.value, _MUG_FRAMES.value)),
            ("synaction", "synaction (71px .npy -> 71px JPEG)",
             lambda d: write_synaction_tree(d, _SYNACTION_VIEWS.value, _PAPER_FRAMES.value)),
        )
        for name, label, write_tree in paper:
            source_dir = os.path.join(root, f"{name}_source")
            if not os.path.isdir(source_dir):
                write_tree(source_dir)
            manifest, prepare_rate, clip_bytes = time_prepare(
                name, os.path.join(root, f"{name}_prepared"), source_dir=source_dir)
            rows.append((label, manifest, prepare_rate, clip_bytes,
                         time_reader(manifest.data_dir)))

    print(f"\nload_clips: {_FRAMES.value}x64x64 clips, batch {_BATCH_SIZE.value}, training mode; "
          f"prepare with {_NUM_WORKERS.value} worker(s); {os.cpu_count()} CPU cores")
    print(f"{'dataset':<40} {'clips':>6} {'frames/clip':>11} {'prepare clips/s':>16} "
          f"{'KB/clip':>8} {'read clips/s':>13} {'read clips/CPU-s':>17}")
    for label, manifest, prepare_rate, clip_bytes, (read_rate, cpu_rate) in rows:
        num_clips = sum(manifest.num_clips(s) for s in manifest.splits)
        frames = min(f for s in manifest.splits
                     for f in manifest.splits[s]["min_frames_per_class"] if f is not None)
        print(f"{label:<40} {num_clips:>6} {frames:>11} {prepare_rate:>16.1f} "
              f"{clip_bytes / 1024:>8.1f} {read_rate:>13.0f} {cpu_rate:>17.0f}")


if __name__ == "__main__":
    app.run(main)
