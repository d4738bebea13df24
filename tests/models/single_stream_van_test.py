"""Tests of SingleStreamVAN, the single-generator baseline."""

import numpy as np

from tests.models import TINY
from tsvan_tf import testing
from tsvan_tf.config import ModelConfig
from tsvan_tf.models import SingleStreamVAN


class SingleStreamVANTest(testing.TestCase):

    def test_no_kernel_generator_and_same_interface(self):
        config = ModelConfig.from_dict(TINY)
        model = SingleStreamVAN(config)
        self.assertEqual(model.motion_generator.kernel_layers, [])
        self.assertEqual(model.content_generator.fusions, [])
        kernel = model.content_generator.decoder_layers[0].kernel  # decodes concat(F, S)
        self.assertEqual(tuple(kernel.shape), (3, 3, 8 * config.base_width,
                                               config.base_width + config.motion_channels))
        rng = np.random.default_rng(0)
        labels = np.array([0, 2])
        content = rng.normal(size=(2, config.content_dim)).astype("float32")
        motion = rng.normal(size=(2, config.motion_noise_steps, config.motion_dim))
        video = model.generate(labels, content, motion.astype("float32"))
        self.assertEqual(tuple(video.shape), (2, config.frames, 16, 16, 3))
        videos = rng.uniform(-1, 1, size=(2, config.frames, 16, 16, 3)).astype("float32")
        coins = np.ones((2, config.frames - 1), bool)
        noise = motion[:, :config.frames - 1].astype("float32")
        out = model.video_forward(videos, labels, noise, noise, coins, coins)
        for generated, target in zip(out["video_tilde_scale_features"],
                                     out["target_scale_features"]):
            self.assertEqual(tuple(generated.shape), tuple(target.shape))
        self.assertTrue(model.single_stream)
        self.run_serialization_test(model)
