"""Tests of the seeded noise modes and the video grids of `tsvan_tf.sampling`."""

import atexit
import dataclasses
import functools
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from tsvan_tf import sampling
from tsvan_tf import testing
from tsvan_tf import trainer
from tsvan_tf.config import ModelConfig
from tsvan_tf.models import TwoStreamVAN
from tsvan_tf.trained_model import load_trained_model

from tests.trainer_test import TINY_MODEL
from tests.trainer_test import fixed_batch
from tests.trainer_test import tiny_configs

CLASS_NAMES = ("wave", "jump", "run")


@functools.lru_cache(maxsize=None)
def trained_model_dir():
    """A tiny model_dir trained 2 steps (checkpoints at steps 1 and 2), made once per process.

    Only the prediction task runs (one step function to trace, and it trains both streams).
    BatchNorm momentum 0 makes the moving statistics those of the last batch, so that two steps
    give a generator whose output visibly depends on its noise (with the default momentum, the
    untrained statistics shrink it to ~1e-4 everywhere). The original initialisation, not the
    synthetic preset's He/identity one: with that one these two steps at lr 1e-2 make the
    unclipped generation grow to ~1e6, where graph and eager float32 legitimately differ by more
    than the export tests' tolerances (the quick start's trained model stays within +-0.91 and
    its exported loop matches `generate` to 2e-6).
    """
    model_config, loss_config, train_config = tiny_configs(
        total_steps=2, checkpoint_every=1, sample_every=100, log_every=1, learning_rate=1e-2)
    model_config = dataclasses.replace(model_config, batch_norm_momentum=0.0,
                                       transpose_init="pytorch", identity_kernels=False)
    loss_config = dataclasses.replace(
        loss_config, content_task_prob_start=0.0, content_task_prob_end=0.0,
        video_task_prob_start=0.0, video_task_prob_end=0.0)
    model_dir = tempfile.mkdtemp(prefix="tsvan-sampling-model-")
    atexit.register(shutil.rmtree, model_dir, True)
    resolved = trainer.resolved_config(model_config, loss_config, train_config, None, False)
    resolved["class_names"] = list(CLASS_NAMES)
    trainer.check_or_write_config(model_dir, resolved)
    with open(os.devnull, "w") as log:
        trainer.Trainer(model_config, loss_config, train_config, model_dir,
                        log_stream=log).train(
            tf.data.Dataset.from_tensors(fixed_batch(model_config)).repeat())
    return model_dir


class SamplingTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = ModelConfig.from_preset("synthetic", **TINY_MODEL)
        cls.generator = TwoStreamVAN(cls.config)
        cls.trained = load_trained_model(trained_model_dir())

    def _noise(self, num=4, seed=3, mode="random", frames=None):
        content, motion = sampling.draw_noise(self.config, num, seed, mode, frames)
        return content.numpy(), motion.numpy()

    @staticmethod
    def _distinct_rows(array):
        return len({row.tobytes() for row in array})

    @testing.parameterized.named_parameters(*[(mode, mode) for mode in sampling.MODES])
    def test_seed_fixes_the_noise(self, mode):
        content, motion = self._noise(mode=mode)
        c = self.config
        self.assertEqual(content.shape, (4, c.content_dim))
        self.assertEqual(motion.shape, (4, c.motion_noise_steps, c.motion_dim))
        self.assertEqual(content.dtype, np.float32)
        again = self._noise(mode=mode)
        other = self._noise(mode=mode, seed=4)
        self.assertAllEqual(content, again[0])
        self.assertAllEqual(motion, again[1])
        self.assertNotAllClose(content, other[0])
        self.assertNotAllClose(motion, other[1])

    def test_random_draws_every_video_its_own_noise(self):
        content, motion = self._noise()
        self.assertEqual(self._distinct_rows(content), 4)
        self.assertEqual(self._distinct_rows(motion), 4)

    def test_fixed_content_shares_the_appearance(self):
        content, motion = self._noise(mode="fixed_content")
        self.assertEqual(self._distinct_rows(content), 1)
        self.assertEqual(self._distinct_rows(motion), 4)

    def test_fixed_motion_shares_the_motion(self):
        content, motion = self._noise(mode="fixed_motion")
        self.assertEqual(self._distinct_rows(content), 4)
        self.assertEqual(self._distinct_rows(motion), 1)

    def test_interpolate_walks_between_two_fixed_endpoints(self):
        content, motion = self._noise(num=5, mode="interpolate")
        ends = self._noise(num=2, mode="interpolate")
        self.assertAllClose(content[[0, -1]], ends[0], atol=1e-5)
        self.assertAllClose(motion[[0, -1]], ends[1], atol=1e-5)
        self.assertEqual(self._distinct_rows(content), 5)
        # Every point is a combination of the endpoints whose norm stays between theirs
        # (a straight line would pass through a shorter, atypical noise mid-way).
        basis = ends[0].T
        coefficients = np.linalg.lstsq(basis, content.T, rcond=None)[0]
        self.assertAllClose(basis @ coefficients, content.T, atol=1e-4)
        norms, end_norms = np.linalg.norm(content, axis=1), np.linalg.norm(ends[0], axis=1)
        self.assertAllInRange(norms, 0.95 * end_norms.min(), 1.05 * end_norms.max())

    def test_frames_sets_the_motion_steps(self):
        _, motion = self._noise(frames=7)
        self.assertEqual(motion.shape[1], 7 + self.config.warmup_frames - 1)

    def test_integer_seed_is_the_tensor_seed_with_zero(self):
        eager = self._noise(seed=11)
        in_graph = tf.function(lambda num, seed: sampling.draw_noise(self.config, num, seed))(
            tf.constant(4), tf.constant([11, 0]))
        self.assertAllEqual(eager[0], in_graph[0])
        self.assertAllEqual(eager[1], in_graph[1])

    def test_bad_arguments_raise(self):
        with self.assertRaisesRegex(ValueError, "Unknown sampling mode 'zoom'"):
            self._noise(mode="zoom")
        with self.assertRaisesRegex(ValueError, r"`seed` must be in \[0, 2147483647\]"):
            self._noise(seed=-1)
        with self.assertRaisesRegex(ValueError, "`frames` must be >= 1"):
            self._noise(frames=0)
        with self.assertRaisesRegex(ValueError, "at least one label"):
            sampling.sample_videos(self.generator, [], 2, 0)

    def test_sample_videos_is_a_label_by_noise_grid(self):
        c, generator = self.config, self.trained.generator
        videos = sampling.sample_videos(generator, [0, 2], num=3, seed=5)
        self.assertEqual(videos.shape, (2, 3, c.frames, c.resolution, c.resolution, 3))
        self.assertAllInRange(videos, -1.0, 1.0)
        # Row r is the generator on label r with the seed's noise, the same noise in every row.
        content, motion = sampling.draw_noise(c, 3, 5)
        expected = generator.generate(tf.constant([2, 2, 2]), content, motion)
        # (another batch size: float sums in another order)
        self.assertAllClose(videos[1], np.clip(expected, -1, 1), atol=5e-5)
        self.assertAllEqual(videos, sampling.sample_videos(generator, [0, 2], 3, seed=5))
        other = sampling.sample_videos(generator, [0, 2], 3, seed=6)
        self.assertGreater(np.abs(videos - other).max(), 0.01)
