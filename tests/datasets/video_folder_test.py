"""Tests of the `video_folder` source through `prepare_dataset`, with videos made by PyAV."""

import os
import tempfile

import numpy as np
import tensorflow as tf
from absl import logging

from tests.datasets import media_fixtures
from tsvan_tf import datasets
from tsvan_tf import testing
from tsvan_tf.datasets.clip_record import ClipRecord

_FRAMES = 14
_SOURCE_SIZE = 48
_IMAGE_SIZE = 32
_COLOURS = {"jump": (230, 40, 40), "run": (40, 200, 60), "wave": (50, 70, 240)}
# Good clips per class, by the way each is stored.
_GOOD_CLIPS = {
    "jump": ["a.mp4", "b.mp4", "c.mp4", "d.avi", "e.mkv"],
    "run": ["a.avi", "b.avi", "c.avi", "frames_clip", "e.gif"],
    "wave": ["a.mp4", "b.mp4", "c.webm"],
}
_CODECS = {".mp4": "libx264", ".avi": "mpeg4", ".mkv": "libx264", ".webm": "libvpx-vp9"}
# The bad files of class "wave" and the reason fragment expected in the manifest.
_BAD_FILES = {
    "wave/corrupt.mp4": "cannot decode",
    "wave/empty.avi": "empty file",
    "wave/short.mp4": "4 frames, fewer than min_frames=10",
    "wave/notes.txt": "unknown file type '.txt'",
    "wave/broken_frames": "unreadable image",
}


def make_video_folder(root):
    """Writes the test source folder (good clips of three classes plus the bad files)."""
    for label, (name, clips) in enumerate(sorted(_GOOD_CLIPS.items())):
        os.makedirs(os.path.join(root, name))
        for index, clip in enumerate(clips):
            frames = media_fixtures.moving_square_frames(
                _FRAMES, _SOURCE_SIZE, _COLOURS[name], seed=10 * label + index)
            path = os.path.join(root, name, clip)
            extension = os.path.splitext(clip)[1]
            if extension in _CODECS:
                media_fixtures.write_video(path, frames, _CODECS[extension])
            elif extension == ".gif":
                from PIL import Image  # pylint: disable=g-import-not-at-top
                images = [Image.fromarray(f) for f in frames]
                images[0].save(path, save_all=True, append_images=images[1:], duration=100)
            else:
                media_fixtures.write_frame_folder(path, frames)
    wave = os.path.join(root, "wave")
    media_fixtures.write_bytes(os.path.join(wave, "corrupt.mp4"), os.urandom(4096))
    media_fixtures.write_bytes(os.path.join(wave, "empty.avi"), b"")
    media_fixtures.write_video(os.path.join(wave, "short.mp4"),
                               media_fixtures.moving_square_frames(4, _SOURCE_SIZE, (0, 0, 255)),
                               "libx264")
    media_fixtures.write_bytes(os.path.join(wave, "notes.txt"), b"not a video")
    broken = os.path.join(wave, "broken_frames")
    media_fixtures.write_frame_folder(
        broken, media_fixtures.moving_square_frames(_FRAMES, _SOURCE_SIZE, (0, 0, 255)))
    media_fixtures.write_bytes(os.path.join(broken, "frame_005.png"), b"\x89PNG garbage")
    media_fixtures.write_bytes(os.path.join(root, ".DS_Store"), b"")


def all_records(manifest, split):
    return [ClipRecord.parse(s.numpy())
            for s in tf.data.TFRecordDataset(manifest.shard_paths(split))]


class VideoFolderTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._tmp = tempfile.TemporaryDirectory()
        cls.source = os.path.join(cls._tmp.name, "source")
        make_video_folder(cls.source)
        cls.output = os.path.join(cls._tmp.name, "prepared")
        cls.options = dict(test_fraction=0.4, image_size=_IMAGE_SIZE, progress=False,
                           clips_per_shard=4)
        cls.manifest = datasets.prepare_dataset("video_folder", cls.output, source_dir=cls.source,
                                                num_workers=2, **cls.options)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()
        super().tearDownClass()

    def test_manifest(self):
        manifest = datasets.read_manifest(self.output)
        self.assertEqual(manifest.class_names, ("jump", "run", "wave"))
        self.assertEqual(manifest.num_classes, 3)
        self.assertEqual(manifest.resolution, (_IMAGE_SIZE, _IMAGE_SIZE))
        self.assertEqual(manifest.image_format, "jpeg")
        self.assertEqual(manifest.source, "video_folder")
        self.assertEqual(manifest.frame_strides, (1, 1, 1))
        self.assertEqual(set(manifest.splits), {"train", "test"})
        totals = np.add(manifest.splits["train"]["clips_per_class"],
                        manifest.splits["test"]["clips_per_class"])
        self.assertAllEqual(totals, [5, 5, 3])

    def test_records_and_labels_per_class(self):
        records = all_records(self.manifest, "train") + all_records(self.manifest, "test")
        self.assertLen(records, 13)
        self.assertCountEqual(
            [r.source_id for r in records],
            [f"{name}/{clip}" for name, clips in _GOOD_CLIPS.items() for clip in clips])
        for record in records:
            class_name = record.source_id.split("/")[0]
            self.assertEqual(record.label, self.manifest.class_names.index(class_name))
            self.assertEqual(record.num_frames, _FRAMES)
            frames = record.decode()
            self.assertEqual(frames.shape, (_FRAMES, _IMAGE_SIZE, _IMAGE_SIZE, 3))
            # The moving square has the class colour (lossy codecs: compare loosely).
            brightest = frames[0].reshape(-1, 3)[np.argmax(
                np.abs(frames[0].astype(int) - 115).sum(-1).ravel())]
            self.assertLess(np.abs(brightest.astype(int) - _COLOURS[class_name]).max(), 60,
                            record.source_id)

    def test_bad_files_are_listed_with_reasons(self):
        skipped = {s["path"]: s["reason"] for s in self.manifest.skipped}
        self.assertEqual(set(skipped), set(_BAD_FILES))
        for path, fragment in _BAD_FILES.items():
            self.assertIn(fragment, skipped[path], path)

    def test_split_is_by_file_and_deterministic(self):
        train = {r.source_id for r in all_records(self.manifest, "train")}
        test = {r.source_id for r in all_records(self.manifest, "test")}
        self.assertEmpty(train & test)
        for name in _GOOD_CLIPS:
            self.assertTrue(any(s.startswith(name + "/") for s in test), name)
            self.assertTrue(any(s.startswith(name + "/") for s in train), name)
        source = datasets.get_source_class("video_folder")(self.source, test_fraction=0.4)
        first, second = source.plan()[1], source.plan()[1]
        self.assertEqual(first, second)

    def test_rerun_does_nothing_and_says_so(self):
        shard = self.manifest.shard_paths("train")[0]
        before = os.stat(shard).st_mtime_ns
        with self.assertLogs(logging.ABSLLogger.root, "INFO") as logs:
            again = datasets.prepare_dataset("video_folder", self.output, source_dir=self.source,
                                             **self.options)
        self.assertIn("nothing to do", "\n".join(logs.output))
        self.assertEqual(os.stat(shard).st_mtime_ns, before)
        self.assertEqual(again, self.manifest)

    def test_rerun_with_other_options_is_refused(self):
        options = {**self.options, "test_fraction": 0.5}
        with self.assertRaisesRegex(ValueError, "already holds a prepared dataset"):
            datasets.prepare_dataset("video_folder", self.output, source_dir=self.source, **options)

    def test_load_clips(self):
        batch = next(iter(datasets.load_clips(self.output, "train", frames=10, batch_size=4)))
        self.assertEqual(batch["video"].shape, (4, 10, _IMAGE_SIZE, _IMAGE_SIZE, 3))
        self.assertBetween(float(tf.reduce_min(batch["video"])), -1.0, 1.0)
        self.assertBetween(float(tf.reduce_max(batch["video"])), -1.0, 1.0)
        self.assertTrue(set(batch["label"].numpy()) <= {0, 1, 2})

    def test_class_without_usable_clip_fails(self):
        source = os.path.join(self.get_temp_dir(), "bad_source")
        os.makedirs(os.path.join(source, "good"))
        os.makedirs(os.path.join(source, "bad"))
        media_fixtures.write_video(
            os.path.join(source, "good", "a.mp4"),
            media_fixtures.moving_square_frames(_FRAMES, _SOURCE_SIZE, (255, 0, 0)), "libx264")
        media_fixtures.write_bytes(os.path.join(source, "bad", "empty.mp4"), b"")
        output = os.path.join(self.get_temp_dir(), "bad_output")
        with self.assertRaisesRegex(ValueError, r"No usable clip for class\(es\) \['bad'\]"):
            datasets.prepare_dataset("video_folder", output, source_dir=source, progress=False)
        self.assertFalse(os.path.exists(os.path.join(output, "manifest.json")))

    def test_missing_source_raises(self):
        missing = os.path.join(self.get_temp_dir(), "missing")
        with self.assertRaisesRegex(ValueError, "does not exist"):
            datasets.prepare_dataset("video_folder", self.get_temp_dir(), source_dir=missing)

    def test_source_without_class_folders_raises(self):
        flat = os.path.join(self.get_temp_dir(), "flat")
        os.makedirs(flat)
        media_fixtures.write_bytes(os.path.join(flat, "clip.mp4"), b"x")
        output = os.path.join(self.get_temp_dir(), "out")
        with self.assertRaisesRegex(ValueError, r"one sub-folder per class.*found 1 entries and "
                                                r"no sub-folder: \['clip.mp4'\]"):
            datasets.prepare_dataset("video_folder", output, source_dir=flat)
        self.assertFalse(os.path.exists(output))

    def test_empty_class_folder_raises(self):
        source = os.path.join(self.get_temp_dir(), "empty_class")
        os.makedirs(os.path.join(source, "walk"))
        with self.assertRaisesRegex(ValueError, "Class folder .*walk is empty"):
            datasets.prepare_dataset("video_folder", self.get_temp_dir(), source_dir=source)

    def test_missing_source_argument_raises(self):
        with self.assertRaisesRegex(ValueError, "reads a source folder: pass --source"):
            datasets.prepare_dataset("video_folder", self.get_temp_dir())
