"""Tests of restoring a trained generator from a model_dir."""

import os
import tempfile

import numpy as np
import tensorflow as tf

from tsvan_tf import testing
from tsvan_tf import trainer
from tsvan_tf.trained_model import ModelDirError
from tsvan_tf.trained_model import checkpoint_steps
from tsvan_tf.trained_model import load_trained_model

from tests.trainer_test import fixed_batch
from tests.trainer_test import tiny_configs


class LoadTrainedModelTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        model_config, loss_config, train_config = tiny_configs(
            total_steps=4, checkpoint_every=2, sample_every=100, log_every=1)
        # Content steps only: one step function to trace.
        loss_config = loss_config.replace(content_task_prob_start=1.0, content_task_prob_end=1.0)
        cls.model_dir = tempfile.mkdtemp(prefix="trained-model-test-")
        trainer.check_or_write_config(cls.model_dir, trainer.resolved_config(
            model_config, loss_config, train_config, None, False))
        cls.trainer = trainer.Trainer(model_config, loss_config, train_config, cls.model_dir,
                                      log_stream=open(os.devnull, "w"))
        batch = fixed_batch(model_config)
        cls.trainer.train(tf.data.Dataset.from_tensors(batch).repeat())
        cls.config = model_config

    def _noise(self, batch=3, seed=0):
        rng = np.random.default_rng(seed)
        c = self.config
        labels = np.arange(batch, dtype=np.int32) % c.num_classes
        content = rng.normal(size=(batch, c.content_dim)).astype("float32")
        motion = rng.normal(size=(batch, c.motion_noise_steps, c.motion_dim)).astype("float32")
        return labels, content, motion

    def test_latest_checkpoint_reproduces_the_trainers_generator(self):
        loaded = load_trained_model(self.model_dir)
        self.assertEqual(loaded.step, 4)
        self.assertEqual(checkpoint_steps(self.model_dir), [2, 4])
        self.assertEqual(loaded.class_names, ("0", "1", "2"))
        self.assertFalse(loaded.single_stream)
        inputs = self._noise()
        expected = self.trainer.models.generator.generate(*inputs)
        self.assertAllClose(loaded.generator.generate(*inputs), expected, atol=1e-6)

    def test_resumed_trainer_restores_every_variable(self):
        # BatchNorm statistics and spectral-norm vectors included, not only what the
        # optimizers reference.
        model_config, loss_config, train_config = tiny_configs(
            total_steps=4, checkpoint_every=2, sample_every=100, log_every=1, seed=7)
        resumed = trainer.Trainer(model_config, loss_config, train_config, self.model_dir,
                                  log_stream=open(os.devnull, "w"))
        resumed._checkpoint_manager()
        self.assertEqual(int(resumed.step.numpy()), 4)
        for name in ("generator", "image_discriminator", "video_discriminator"):
            trained = getattr(self.trainer.models, name).variables
            restored = getattr(resumed.models, name).variables
            self.assertEqual(len(trained), len(restored))
            for a, b in zip(trained, restored):
                self.assertAllEqual(a.numpy(), b.numpy(), msg=f"{name}: {a.path}")

    def test_earlier_step_differs_from_latest(self):
        earlier = load_trained_model(self.model_dir, step=2)
        latest = load_trained_model(self.model_dir)
        inputs = self._noise()
        self.assertEqual(earlier.step, 2)
        self.assertNotAllClose(earlier.generator.generate(*inputs),
                               latest.generator.generate(*inputs))

    def test_label_index(self):
        loaded = load_trained_model(self.model_dir)
        self.assertEqual(loaded.label_index("2"), 2)
        self.assertEqual(loaded.label_index(1), 1)
        with self.assertRaisesRegex(ValueError, r"Unknown label 'jump'.*0=0, 1=1, 2=2"):
            loaded.label_index("jump")
        with self.assertRaisesRegex(ValueError, "Unknown label 3"):
            loaded.label_index(3)

    def test_errors(self):
        with self.assertRaisesRegex(ModelDirError, "no checkpoint at step 3.*steps \\[2, 4\\]"):
            load_trained_model(self.model_dir, step=3)
        empty = tempfile.mkdtemp()
        with self.assertRaisesRegex(ModelDirError, "config.json does not exist"):
            load_trained_model(empty)
        with open(os.path.join(self.model_dir, "config.json")) as f:
            config_text = f.read()
        with open(os.path.join(empty, "config.json"), "w") as f:
            f.write(config_text)
        with self.assertRaisesRegex(ModelDirError, "has no checkpoint yet"):
            load_trained_model(empty)


if __name__ == "__main__":
    tf.test.main()
