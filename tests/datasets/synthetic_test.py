"""Tests of the embedded synthetic dataset: determinism, splits, disjoint appearance, and that
motion, not appearance, carries the class."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tsvan_tf import datasets
from tsvan_tf import testing
from tsvan_tf.datasets import synthetic
from tsvan_tf.datasets.clip_record import ClipRecord

_SIZE = 32
_FRAMES = 12


def read_records(manifest, split):
    return [ClipRecord.parse(s.numpy())
            for s in tf.data.TFRecordDataset(manifest.shard_paths(split))]


class SyntheticSourceTest(testing.TestCase):

    def test_deterministic_for_a_seed(self):
        first = synthetic.SyntheticSource(seed=7, image_size=_SIZE)
        second = synthetic.SyntheticSource(seed=7, image_size=_SIZE)
        other = synthetic.SyntheticSource(seed=8, image_size=_SIZE)
        planned = first.plan()[1]
        self.assertEqual(planned, second.plan()[1])
        for clip in planned[:: len(planned) // 5]:
            self.assertAllEqual(first.load(clip), second.load(clip))
            self.assertNotAllEqual(first.load(clip), other.load(clip))

    def test_prepared_shards_are_identical_for_a_seed(self):
        options = dict(seed=1, image_size=_SIZE, num_frames=8, train_clips_per_class=2,
                       test_clips_per_class=1, progress=False)
        with tempfile.TemporaryDirectory() as root:
            a = datasets.prepare_dataset("synthetic", os.path.join(root, "a"), num_workers=2,
                                         **options)
            b = datasets.prepare_dataset("synthetic", os.path.join(root, "b"), **options)
            for path_a, path_b in zip(a.shard_paths("train"), b.shard_paths("train")):
                with open(path_a, "rb") as fa, open(path_b, "rb") as fb:
                    self.assertEqual(fa.read(), fb.read())

    def test_clip_shape_and_dtype(self):
        source = synthetic.SyntheticSource(num_frames=_FRAMES, image_size=_SIZE)
        clip = source.load(source.plan()[1][0])
        self.assertEqual(clip.shape, (_FRAMES, _SIZE, _SIZE, 3))
        self.assertEqual(clip.dtype, np.uint8)

    def test_every_class_in_both_splits(self):
        source = synthetic.SyntheticSource(train_clips_per_class=3, test_clips_per_class=2)
        class_names, planned = source.plan()
        self.assertLen(class_names, 8)
        for split, count in (("train", 3), ("test", 2)):
            labels = [clip.label for clip in planned if clip.split == split]
            self.assertAllEqual(np.bincount(labels, minlength=8), [count] * 8)

    def test_appearance_combinations_are_disjoint_and_cover_every_factor(self):
        for seed in range(4):
            train = set(synthetic.appearance_combinations("train", seed))
            test = set(synthetic.appearance_combinations("test", seed))
            self.assertEmpty(train & test)
            self.assertLen(train | test, len(synthetic.SHAPES) * len(synthetic.COLOURS)
                           * len(synthetic.TEXTURES))
            for factor, values in enumerate((synthetic.SHAPES, synthetic.COLOURS,
                                             synthetic.TEXTURES)):
                # Every single shape, colour and texture is seen in training.
                self.assertLen({combo[factor] for combo in train}, len(values))
                self.assertLen({combo[factor] for combo in test}, len(values))

    def test_planned_clips_use_their_split_appearances(self):
        source = synthetic.SyntheticSource(seed=2, train_clips_per_class=20,
                                           test_clips_per_class=10)
        planned = source.plan()[1]
        for split in ("train", "test"):
            allowed = {synthetic.appearance_id(c)
                       for c in synthetic.appearance_combinations(split, seed=2)}
            used = {clip.actor for clip in planned if clip.split == split}
            self.assertTrue(used <= allowed, split)
        # Appearance does not follow the class: each class uses many combinations.
        for label in range(8):
            self.assertGreater(len({c.actor for c in planned
                                    if c.label == label and c.split == "train"}), 5)

    def test_each_class_has_its_motion(self):
        rng = np.random.default_rng(0)
        start, radius, frames = np.array([30.0, 30.0]), 8.0, 12
        expected_steps = {"move_right": (1, 0), "move_left": (-1, 0), "move_up": (0, -1),
                          "move_down": (0, 1)}
        for name in synthetic.CLASS_NAMES:
            centres, radii = synthetic._trajectory(name, start, radius, rng, frames, scale=1.0)
            steps = np.diff(centres, axis=0)
            if name in expected_steps:
                self.assertAllEqual(np.sign(steps), np.tile(expected_steps[name], (frames - 1, 1)))
            elif name.startswith("orbit"):
                angles = np.unwrap(np.arctan2(*(centres - start).T[::-1]))
                turning = np.sign(np.diff(angles))  # image y points down: + is clockwise
                self.assertTrue(np.all(turning == (1 if name == "orbit_clockwise" else -1)))
            elif name == "pulse":
                self.assertAllEqual(centres, np.tile(start, (frames, 1)))
                self.assertGreater(radii.max() - radii.min(), 0.5 * radius)
            else:  # shake: back and forth horizontally, no net travel
                self.assertAllEqual(steps[:, 1], np.zeros(frames - 1))
                self.assertIn(-1.0, np.sign(steps[:, 0]))
                self.assertIn(1.0, np.sign(steps[:, 0]))

    def test_object_stands_out_on_a_dark_background(self):
        """Version 2: the object, not the background, carries most of each frame's variance."""
        source = synthetic.SyntheticSource(image_size=_SIZE)
        self.assertEqual(source.options["version"], synthetic.VERSION)
        object_fractions = []
        for clip in source.plan()[1][:40]:
            frame = source.load(clip)[0].astype(np.float64) / 255.0
            background = np.median(frame.reshape(-1, 3), axis=0)
            self.assertLess(background.max(), 0.45)
            object_fractions.append(np.mean(np.abs(frame - background).max(axis=-1) > 0.2))
        # A radius of 10-16 px at 64 px covers 8-20% of the frame (less where the texture is dark).
        self.assertGreater(np.mean(object_fractions), 0.07)

    def test_bad_options_raise(self):
        with self.assertRaisesRegex(ValueError, "num_frames >= 2. Received: num_frames=1"):
            synthetic.SyntheticSource(num_frames=1)
        with self.assertRaisesRegex(ValueError, "generated and reads no source folder"):
            datasets.prepare_dataset("synthetic", self.get_temp_dir(),
                                     source_dir=self.get_temp_dir())


def _classifier(frames, size, num_classes, width=32):
    """A tiny spatio-temporal CNN: frame differences (a fixed [-1, 1] temporal convolution),
    stacked over time as channels, then three strided 2-D convolutions. With `frames=1` it sees a
    single frame (no differences)."""
    inputs = keras.Input((frames, size, size, 3))
    x = inputs
    if frames > 1:
        x = keras.layers.Lambda(lambda v: v[:, 1:] - v[:, :-1])(x)
    steps = max(frames - 1, 1)
    x = keras.layers.Permute((2, 3, 1, 4))(x)
    x = keras.layers.Reshape((size, size, steps * 3))(x)
    x = keras.layers.Conv2D(width, 5, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


@pytest.mark.large  # trains two small classifiers (~20 s)
class SyntheticDesignTest(testing.TestCase):
    """Motion, not appearance, carries the class: a spatio-temporal model trained on the train
    split classifies the (unseen-appearance) test split well; a single-frame model cannot."""

    _STEPS = 300
    _FRAMES = 6
    _STRIDE = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._tmp = tempfile.TemporaryDirectory()
        cls.data_dir = os.path.join(cls._tmp.name, "synthetic")
        datasets.prepare_dataset("synthetic", cls.data_dir, num_workers=2, progress=False,
                                 seed=0, image_size=_SIZE, num_frames=_FRAMES * 2,
                                 train_clips_per_class=64, test_clips_per_class=16)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()
        super().tearDownClass()

    def _test_accuracy(self, frames):
        keras.utils.set_random_seed(0)
        manifest = datasets.read_manifest(self.data_dir)

        def inputs(batch):
            return batch["video"][:, :frames], batch["label"]

        train = datasets.load_clips(self.data_dir, "train", frames=self._FRAMES, batch_size=16,
                                    frame_stride=self._STRIDE, seed=0).map(inputs)
        test = datasets.load_clips(self.data_dir, "test", frames=self._FRAMES, batch_size=16,
                                   frame_stride=self._STRIDE).map(inputs)
        model = _classifier(frames, _SIZE, manifest.num_classes)
        model.compile(keras.optimizers.Adam(2e-3),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], jit_compile=True)
        model.fit(train, steps_per_epoch=self._STEPS, epochs=1, verbose=0)
        return model.evaluate(test, verbose=0, return_dict=True)["accuracy"]

    def test_motion_model_beats_chance_and_single_frame_does_not(self):
        chance = 1.0 / len(synthetic.CLASS_NAMES)
        motion_accuracy = self._test_accuracy(self._FRAMES)
        single_frame_accuracy = self._test_accuracy(1)
        self.assertGreater(motion_accuracy, 4 * chance,
                           f"motion model: {motion_accuracy:.3f}, chance {chance:.3f}")
        self.assertLess(single_frame_accuracy, 2.5 * chance,
                        f"single-frame model: {single_frame_accuracy:.3f}, chance {chance:.3f}")
