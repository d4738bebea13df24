"""Miniature Weizmann, MUG and SynAction trees with the real naming, generated on the fly.

Every frame is one uniform grey level that encodes its index in the source video
(`frame_level(t)`), so a test can read back which source frames a prepared clip holds.
"""

import os
import pathlib
import subprocess
import sys

import av
import numpy as np
import tensorflow as tf
from PIL import Image

from tests.datasets import media_fixtures
from tsvan_tf import datasets
from tsvan_tf.datasets import mug
from tsvan_tf.datasets import synaction
from tsvan_tf.datasets import weizmann
from tsvan_tf.datasets.clip_record import ClipRecord

REPO = pathlib.Path(__file__).resolve().parent.parent.parent

LEVEL_STEP = 5
POSITION_STEP = 3
WEIZMANN_ACTORS = ("daria", "lena")
WEIZMANN_SIZE = (36, 45)  # a quarter of the real 144 x 180
MUG_SUBJECTS = ("001", "002")
MUG_SIZE = (24, 20)
SYNACTION_FRAMES = 20


def frame_level(index):
    """The grey level of source frame `index`."""
    return LEVEL_STEP * index


def frame_indices(frames):
    """The source frame indices of uint8 `(T, H, W, 3)` frames made by this module."""
    return [int(round(float(f.mean()) / LEVEL_STEP)) for f in frames]


def grey_frames(num_frames, size):
    """`num_frames` uniform frames of `size` `(height, width)`, frame t at `frame_level(t)`."""
    levels = np.array([frame_level(t) for t in range(num_frames)], np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (num_frames, *size, 3)).copy()


def position_frames(num_frames, size):
    """Frames whose red channel is `POSITION_STEP * row` and green `POSITION_STEP * column`, so
    that the first pixel of a crop tells its offset (`crop_offset`)."""
    rows, columns = np.meshgrid(np.arange(size[0]), np.arange(size[1]), indexing="ij")
    frame = np.stack([rows, columns, np.zeros_like(rows)], axis=-1) * POSITION_STEP
    return np.repeat(frame[None].astype(np.uint8), num_frames, axis=0)


def crop_offset(frame):
    """The `(top, left)` offset of a crop of `position_frames` (values in [0, 255])."""
    return tuple(int(round(float(v) / POSITION_STEP)) for v in frame[0, 0, :2])


def weizmann_length(actor, action):
    """Frames of the miniature video of `actor` and `action` (30 to 41)."""
    return 30 + (weizmann.ACTORS.index(actor) + weizmann.ACTIONS.index(action)) % 12


def write_lossless_avi(path, frames):
    """Writes `frames` as an FFV1 .avi (lossless, so the grey levels survive)."""
    with av.open(path, "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv444p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def make_weizmann(root):
    """Two actors x 10 actions (one folder per action, as the zips unpack), Lena's second run,
    a corrupt video and a stray text file."""
    for action in weizmann.ACTIONS:
        os.makedirs(os.path.join(root, action))
        for actor in WEIZMANN_ACTORS:
            write_lossless_avi(os.path.join(root, action, f"{actor}_{action}.avi"),
                               grey_frames(weizmann_length(actor, action), WEIZMANN_SIZE))
    os.rename(os.path.join(root, "run", "lena_run.avi"), os.path.join(root, "run", "lena_run1.avi"))
    write_lossless_avi(os.path.join(root, "run", "lena_run2.avi"), grey_frames(33, WEIZMANN_SIZE))
    media_fixtures.write_bytes(os.path.join(root, "bend", "ido_bend.avi"), os.urandom(2048))
    media_fixtures.write_bytes(os.path.join(root, "README.txt"), b"Weizmann actions")


def mug_length(subject, expression):
    """Frames of the miniature take of `subject` and `expression` (40 to 45)."""
    return 40 + (MUG_SUBJECTS.index(subject) * 3 + mug.EXPRESSIONS.index(expression)) % 6


def make_mug(root):
    """Two subjects x 6 expressions, one take each, plus a short take and a `neutral` folder."""
    for subject in MUG_SUBJECTS:
        for expression in mug.EXPRESSIONS:
            _write_take(os.path.join(root, subject, expression, "take000"),
                        mug_length(subject, expression))
    _write_take(os.path.join(root, "001", "anger", "take001"), 30)
    _write_take(os.path.join(root, "002", "neutral", "take000"), 40)


def _write_take(folder, num_frames):
    os.makedirs(folder)
    for index, frame in enumerate(grey_frames(num_frames, MUG_SIZE)):
        Image.fromarray(frame).save(os.path.join(folder, f"img_{index:04d}.jpg"), quality=100)


def synaction_clips():
    """`(character, action, variant, view)` names of the miniature: per action, douglas's
    variant 0 in its test view and the next view; all 15 views of swat_hit_1."""
    clips = []
    for action in synaction.ACTIONS:
        a = synaction.ACTIONS.index(action)
        test_view = (a * synaction.NUM_VARIANTS) % synaction.NUM_VIEWS
        clips += [("douglas", action, 0, test_view),
                  ("douglas", action, 0, (test_view + 1) % synaction.NUM_VIEWS)]
    clips += [("swat", "hit", 1, view) for view in range(synaction.NUM_VIEWS)]
    return clips


def make_synaction(root, frames=None):
    """The clips of `synaction_clips()` as uint8 `(20, 71, 71, 3)` arrays (`frames`, by default
    `grey_frames`), plus a clip of the wrong shape and a file of another name."""
    os.makedirs(root)
    if frames is None:
        frames = grey_frames(SYNACTION_FRAMES, synaction.NATIVE_SIZE)
    for character, action, variant, view in synaction_clips():
        np.save(os.path.join(root, f"{character}_{action}_{variant}_{view}.npy"), frames)
    np.save(os.path.join(root, "lola_wave_0_3.npy"), frames[:, :, :, 0])
    np.save(os.path.join(root, "lola_dance_0_3.npy"), frames)


def read_records(manifest, split):
    """`{source_id: ClipRecord}` of a prepared split."""
    records = [ClipRecord.parse(s.numpy())
               for s in tf.data.TFRecordDataset(manifest.shard_paths(split))]
    return {r.source_id: r for r in records}


def read_windows(data_dir, split, frames):
    """`[(label, source frame indices)]` of every clip `load_clips` reads in evaluation mode."""
    windows = []
    for batch in datasets.load_clips(data_dir, split, frames=frames, batch_size=1,
                                     training=False, drop_remainder=False):
        levels = (batch["video"][0].numpy() + 1.0) * 127.5
        windows.append((int(batch["label"][0]), frame_indices(levels)))
    return windows


def run_module(module, args, timeout=600):
    """Runs `python -m MODULE ARGS` from the repository root; returns the CompletedProcess."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=timeout, check=False)


def flagfile_preset(name):
    """The `--preset` a paper flagfile (`configs/NAME.cfg`) sets."""
    with open(REPO / "configs" / f"{name}.cfg", encoding="utf-8") as f:
        presets = [line.split("=", 1)[1].strip() for line in f if line.startswith("--preset=")]
    return presets[-1]
