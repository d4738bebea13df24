"""Tests of `load_clips` on a small prepared synthetic dataset."""

import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from tsvan_tf import datasets
from tsvan_tf import testing
from tsvan_tf.datasets.clip_record import ClipRecord

_NUM_FRAMES = 12
_SIZE = 32
_NUM_CLASSES = 8
_TRAIN_PER_CLASS = 4
_TEST_PER_CLASS = 2


def _records(data_dir, split):
    manifest = datasets.read_manifest(data_dir)
    dataset = tf.data.TFRecordDataset(manifest.shard_paths(split))
    return [ClipRecord.parse(serialized.numpy()) for serialized in dataset]


class LoadClipsTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._tmp = tempfile.TemporaryDirectory()
        cls.data_dir = os.path.join(cls._tmp.name, "synthetic")
        datasets.prepare_dataset(
            "synthetic", cls.data_dir, progress=False, clips_per_shard=8, seed=5,
            image_size=_SIZE, num_frames=_NUM_FRAMES, train_clips_per_class=_TRAIN_PER_CLASS,
            test_clips_per_class=_TEST_PER_CLASS)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()
        super().tearDownClass()

    def _with_manifest_change(self, **changes):
        """Copies the dataset and edits its manifest (for dataset-specific settings)."""
        data_dir = os.path.join(self.get_temp_dir(), "edited")
        shutil.copytree(self.data_dir, data_dir)
        path = os.path.join(data_dir, "manifest.json")
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        manifest.update(changes)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(manifest, f)
        return data_dir

    def test_shapes_range_and_labels(self):
        batch = next(iter(datasets.load_clips(self.data_dir, "train", frames=10, batch_size=8,
                                              seed=0)))
        self.assertEqual(set(batch), {"video", "label"})
        self.assertEqual(batch["video"].shape, (8, 10, _SIZE, _SIZE, 3))
        self.assertEqual(batch["video"].dtype, tf.float32)
        self.assertEqual(batch["label"].shape, (8,))
        self.assertEqual(batch["label"].dtype, tf.int32)
        video = batch["video"].numpy()
        self.assertGreaterEqual(video.min(), -1.0)
        self.assertLessEqual(video.max(), 1.0)
        self.assertGreater(video.max() - video.min(), 1.0)  # not a constant image
        self.assertTrue(np.all((batch["label"].numpy() >= 0) & (batch["label"].numpy() < 8)))

    def test_static_batch_shape(self):
        dataset = datasets.load_clips(self.data_dir, "train", frames=6, batch_size=4)
        self.assertEqual(dataset.element_spec["video"].shape, (4, 6, _SIZE, _SIZE, 3))
        self.assertEqual(dataset.element_spec["label"].shape, (4,))

    def test_evaluation_reads_the_first_frames_in_order(self):
        records = _records(self.data_dir, "test")
        dataset = datasets.load_clips(self.data_dir, "test", frames=10, batch_size=len(records))
        batch = next(iter(dataset))
        self.assertEqual(batch["video"].shape[0], len(records))
        expected = {r.source_id: (r.decode()[:10].astype(np.float32) / 127.5 - 1.0, r.label)
                    for r in records}
        for video, label in zip(batch["video"].numpy(), batch["label"].numpy()):
            # Shards are interleaved, so match each clip to its record.
            matches = [key for key, (frames, _) in expected.items()
                       if np.allclose(video, frames, atol=1e-6)]
            self.assertLen(matches, 1)
            self.assertEqual(label, expected.pop(matches[0])[1])

    def test_frame_stride(self):
        records = _records(self.data_dir, "test")
        batch = next(iter(datasets.load_clips(self.data_dir, "test", frames=6, batch_size=16,
                                              frame_stride=2)))
        expected = [r.decode()[0:12:2].astype(np.float32) / 127.5 - 1.0 for r in records]
        for video in batch["video"].numpy():
            self.assertTrue(any(np.allclose(video, e, atol=1e-6) for e in expected))

    def test_training_windows_are_random_and_seeded(self):
        def first_batch(seed):
            dataset = datasets.load_clips(self.data_dir, "train", frames=4, batch_size=16,
                                          seed=seed, max_frame_stride=2)
            return next(iter(dataset))["video"].numpy()

        self.assertAllEqual(first_batch(1), first_batch(1))
        self.assertNotAllClose(first_batch(1), first_batch(2))

    def test_random_windows_cover_different_starts(self):
        dataset = datasets.load_clips(self.data_dir, "train", frames=2, batch_size=1, seed=0,
                                      shuffle_buffer=1)
        records = {r.source_id: r for r in _records(self.data_dir, "train")}
        first = records[sorted(records)[0]]
        frames = first.decode().astype(np.float32) / 127.5 - 1.0
        # The training stream repeats; look at many draws of whatever clip comes first and check
        # that at least two different start frames were decoded.
        starts = set()
        for batch in dataset.take(200):
            for start in range(_NUM_FRAMES - 1):
                if np.allclose(batch["video"][0, 0], frames[start], atol=1e-6):
                    starts.add(start)
        self.assertGreater(len(starts), 1)

    def test_image_size_resizes(self):
        batch = next(iter(datasets.load_clips(self.data_dir, "test", frames=4, batch_size=2,
                                              image_size=16)))
        self.assertEqual(batch["video"].shape, (2, 4, 16, 16, 3))
        batch = next(iter(datasets.load_clips(self.data_dir, "test", frames=4, batch_size=2,
                                              image_size=(20, 24))))
        self.assertEqual(batch["video"].shape, (2, 4, 20, 24, 3))

    def test_manifest_crop_and_strides_are_applied(self):
        data_dir = self._with_manifest_change(crop_size=[24, 20],
                                              frame_strides=[2] * _NUM_CLASSES)
        records = _records(data_dir, "test")
        batch = next(iter(datasets.load_clips(data_dir, "test", frames=5, batch_size=16)))
        self.assertEqual(batch["video"].shape, (16, 5, 24, 20, 3))
        # Evaluation: centred crop, per-class stride 2 from frame 0.
        expected = [r.decode()[0:10:2, 4:28, 6:26].astype(np.float32) / 127.5 - 1.0
                    for r in records]
        for video in batch["video"].numpy():
            self.assertTrue(any(np.allclose(video, e, atol=1e-6) for e in expected))
        train = next(iter(datasets.load_clips(data_dir, "train", frames=5, batch_size=2)))
        self.assertEqual(train["video"].shape, (2, 5, 24, 20, 3))

    def test_manifest_crop_offsets_are_applied(self):
        data_dir = self._with_manifest_change(crop_size=[24, 20], crop_eval_offset=[0, 3],
                                              crop_max_offset=[1, 2])
        records = _records(data_dir, "test")
        batch = next(iter(datasets.load_clips(data_dir, "test", frames=5, batch_size=16)))
        expected = [r.decode()[0:5, 0:24, 3:23].astype(np.float32) / 127.5 - 1.0
                    for r in records]
        for video in batch["video"].numpy():
            self.assertTrue(any(np.allclose(video, e, atol=1e-6) for e in expected))

    def test_crop_offset_outside_the_frame_raises(self):
        data_dir = self._with_manifest_change(crop_size=[24, 20], crop_eval_offset=[9, 0])
        with self.assertRaisesRegex(ValueError, r"crop_eval_offset=\(9, 0\) for 32x32 frames; "
                                                r"expected offsets in \[0, \[8, 12\]\]"):
            datasets.load_clips(data_dir, "test", frames=5, batch_size=4)

    def test_no_manifest_raises(self):
        empty = self.get_temp_dir()
        with self.assertRaisesRegex(ValueError, "No manifest.json in data_dir"):
            datasets.load_clips(empty)

    def test_unknown_split_raises(self):
        with self.assertRaisesRegex(ValueError, r"Unknown split 'validation'.*\['test', 'train'\]"):
            datasets.load_clips(self.data_dir, split="validation")

    def test_clips_shorter_than_window_raise(self):
        with self.assertRaisesRegex(ValueError, "too short for one window.*12 frames.*needs 13"):
            datasets.load_clips(self.data_dir, frames=13)
        with self.assertRaisesRegex(ValueError, "too short for one window"):
            datasets.load_clips(self.data_dir, frames=7, frame_stride=2)

    def test_batch_larger_than_split_raises(self):
        with self.assertRaisesRegex(ValueError, "batch_size=100 is larger than split 'test'.*16 "
                                                "clips"):
            datasets.load_clips(self.data_dir, "test", batch_size=100)

    def test_input_context_splits_the_data_between_pipelines(self):
        def clip_sums(pipeline_id):
            context = tf.distribute.InputContext(num_input_pipelines=2,
                                                 input_pipeline_id=pipeline_id)
            dataset = datasets.load_clips(self.data_dir, "train", frames=4, batch_size=1,
                                          training=False, input_context=context)
            return [float(tf.reduce_sum(b["video"])) for b in dataset]

        first, second = clip_sums(0), clip_sums(1)
        self.assertLen(first + second, _NUM_CLASSES * _TRAIN_PER_CLASS)
        self.assertEmpty(set(first) & set(second))

    def test_auto_shard_under_multi_worker_partitions_the_files(self):
        # The same rewrite MultiWorkerMirroredStrategy applies to each worker's dataset.
        # pylint: disable-next=g-direct-tensorflow-import
        from tensorflow.python.data.experimental.ops import distribute

        def clip_sums(worker):
            dataset = datasets.load_clips(self.data_dir, "train", frames=4, batch_size=1,
                                          training=False)
            sharded = distribute._AutoShardDataset(dataset, num_workers=2, index=worker,
                                                   num_replicas=2)
            return [float(tf.reduce_sum(b["video"])) for b in sharded]

        first, second = clip_sums(0), clip_sums(1)
        self.assertLen(first + second, _NUM_CLASSES * _TRAIN_PER_CLASS)
        self.assertEmpty(set(first) & set(second))

    def test_mirrored_strategy_distributes_batches(self):
        cpus = tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([cpus[0].name])
        dataset = datasets.load_clips(self.data_dir, "train", frames=4, batch_size=4)
        batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
        self.assertEqual(batch["video"].shape, (4, 4, _SIZE, _SIZE, 3))

    def test_bad_arguments_raise(self):
        with self.assertRaisesRegex(ValueError, "frame_stride >= 1. Received: frame_stride=0"):
            datasets.load_clips(self.data_dir, frame_stride=0)
        with self.assertRaisesRegex(ValueError, "batch_size >= 1. Received: batch_size=0"):
            datasets.load_clips(self.data_dir, batch_size=0)
        with self.assertRaisesRegex(ValueError, "max_frame_stride >= the frame stride"):
            datasets.load_clips(self.data_dir, frame_stride=2, max_frame_stride=1)
