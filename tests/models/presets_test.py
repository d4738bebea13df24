"""Every module at the Weizmann and synthetic presets: shapes, parameter counts, variants.

The counts are the original's, measured from the authors' code (BatchNorm moving statistics
excluded). Module boundaries map as follows: "content-motion state" = the content head (in
`ContentGenerator`) + `fc_motion` and `fc_comb` (in `MotionGenerator`).
"""

import keras
import numpy as np

from tsvan_tf import testing
from tsvan_tf.config import ModelConfig
from tsvan_tf.models import ImageDiscriminator
from tsvan_tf.models import TwoStreamVAN
from tsvan_tf.models import VideoDiscriminator
from tsvan_tf.models import _blocks
from tsvan_tf.models import video_discriminator

PRESETS = (("weizmann", "weizmann"), ("synthetic", "synthetic"))


def _random(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype("float32")


def _labels(config, batch=2):
    return np.arange(batch) % config.num_classes


class PresetsTest(testing.TestCase):
    """Builds each preset's modules once (eager JAX compiles every initializer: ~1 min each)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.models = {}
        for preset, _ in PRESETS:
            model = TwoStreamVAN.from_preset(preset)
            cls.models[preset] = {
                "two_stream_van": model,
                "content_encoder": model.content_encoder,
                "content_generator": model.content_generator,
                "motion_encoder": model.motion_encoder,
                "motion_generator": model.motion_generator,
                "image_discriminator": ImageDiscriminator(model.config),
                "video_discriminator": VideoDiscriminator(model.config),
            }

    def test_weizmann_parameter_counts(self):
        models = self.models["weizmann"]
        count = _blocks.count_params
        encoder = models["content_encoder"]
        generator = models["content_generator"]
        motion_encoder = models["motion_encoder"]
        motion_generator = models["motion_generator"]
        self.assertEqual(count(encoder.feature_layers), 548_272)
        self.assertEqual(count(encoder.sampler_layers), 535_552)
        self.assertEqual(count(motion_encoder.feature_layers), 647_520)
        self.assertEqual(count(motion_encoder.sampler_layers), 66_944)
        self.assertEqual(count(motion_generator.trajectory_layers), 95_296)
        self.assertEqual(count(generator.head_layers) + count(motion_generator.joint_layers),
                         34_414_144)
        self.assertEqual(count(motion_generator.kernel_layers), 369_900)
        self.assertEqual(count(generator.decoder_layers), 124_848)
        self.assertEqual(count([encoder, generator, motion_encoder, motion_generator]),
                         36_802_476)
        self.assertEqual(count([models["image_discriminator"]]), 42_944)
        self.assertEqual(count([models["video_discriminator"]]), 11_384_576)

    def test_weizmann_parameter_groups(self):
        model = self.models["weizmann"]["two_stream_van"]
        groups = [model.content_encoder_variables, model.content_decoder_variables,
                  model.motion_encoder_variables, model.motion_decoder_variables]
        sizes = [sum(int(np.prod(v.shape)) for v in group) for group in groups]
        self.assertEqual(sizes, [548_272 + 535_552, 793_088 + 124_848, 647_520 + 66_944,
                                 95_296 + 33_621_056 + 369_900])
        self.assertEqual(_blocks.count_params([model]), 36_802_476)
        paths = [v.path for group in groups for v in group]
        self.assertEqual(len(paths), len(set(paths)))
        self.assertEqual(sorted(paths), sorted(v.path for v in model.trainable_variables))

    @testing.parameterized.named_parameters(*PRESETS)
    def test_generate_shape(self, preset):
        model = self.models[preset]["two_stream_van"]
        config = model.config
        shapes = [(1,), (1, config.content_dim), (1, config.motion_noise_steps, config.motion_dim)]
        if keras.backend.backend() == "jax":  # eager JAX compiles every op: trace symbolically
            video = model([keras.KerasTensor(shapes[0], "int32"), keras.KerasTensor(shapes[1]),
                           keras.KerasTensor(shapes[2])])
        else:
            video = model.generate(np.zeros(shapes[0], "int32"), _random(shapes[1]),
                                   _random(shapes[2]))
        self.assertEqual(tuple(video.shape),
                         (1, config.frames, config.resolution, config.resolution, 3))

    @testing.parameterized.named_parameters(*PRESETS)
    def test_content_stream_shapes(self, preset):
        config = ModelConfig.from_preset(preset)
        res, base = config.resolution, config.base_resolution
        models = self.models[preset]
        mean, log_var = models["content_encoder"](_random((2, res, res, 3)), _labels(config))
        self.assertEqual(tuple(mean.shape), (2, config.content_dim))
        self.assertEqual(tuple(log_var.shape), (2, config.content_dim))
        generator = models["content_generator"]
        hidden, features = generator.content_state(mean, _labels(config))
        self.assertEqual(tuple(hidden.shape), (2, config.content_hidden_dim))
        self.assertEqual(tuple(features.shape), (2, base, base, config.base_width))
        frame, scale_features = generator.decode(features)
        self.assertEqual(tuple(frame.shape), (2, res, res, 3))
        self.assertEqual([tuple(f.shape)[1] for f in scale_features],
                         list(config.fused_resolutions[:-1]))

    @testing.parameterized.named_parameters(*PRESETS)
    def test_motion_stream_shapes(self, preset):
        config = ModelConfig.from_preset(preset)
        res, base, mc = config.resolution, config.base_resolution, config.motion_channels
        models = self.models[preset]
        motion_map, mean, _ = models["motion_encoder"](_random((2, res, res, 3)),
                                                       _labels(config))
        self.assertEqual(tuple(motion_map.shape), (2, base, base, mc))
        self.assertEqual(tuple(mean.shape), (2, config.motion_dim))
        generator = models["motion_generator"]
        state = generator.initial_state(2)
        self.assertAllCloseNumpy(state[0], np.ones((2, base, base, mc)))
        outputs = generator(mean, _labels(config), _random((2, config.content_hidden_dim)),
                            state)
        self.assertLen(outputs, config.num_scales)
        for side, (vertical, horizontal, mask) in zip(config.fused_resolutions, outputs):
            self.assertEqual(tuple(vertical.shape), (2, side, side, config.kernel_size))
            self.assertEqual(tuple(horizontal.shape), (2, side, side, config.kernel_size))
            self.assertEqual(tuple(mask.shape), (2, side, side, 1))
            values = np.asarray(mask)
            self.assertTrue(np.all((values >= 0) & (values <= 1)))
        new_state = generator.update_history(motion_map, state)
        self.assertEqual(tuple(new_state[1].shape), (2, base, base, mc))

    @testing.parameterized.named_parameters(*PRESETS)
    def test_discriminator_shapes(self, preset):
        config = ModelConfig.from_preset(preset)
        res = config.resolution
        models = self.models[preset]
        patches = models["image_discriminator"](_random((2, res, res, 3)))
        self.assertEqual(tuple(patches.shape), (2, res // 16, res // 16, 1))
        logits, class_logits = models["video_discriminator"](
            _random((2, config.frames, res, res, 3)))
        self.assertEqual(tuple(logits.shape), (2,))
        self.assertEqual(tuple(class_logits.shape), (2, config.num_classes))

    def test_video_discriminator_any_length(self):
        discriminator = self.models["synthetic"]["video_discriminator"]
        config = discriminator.config
        for frames in (4, 7, 12):
            logits, class_logits = discriminator(_random((1, frames, 32, 32, 3)))
            self.assertEqual(tuple(logits.shape), (1,))
            self.assertEqual(tuple(class_logits.shape), (1, config.num_classes))
        with self.assertRaisesRegex(ValueError, r"time >= 4.*\(1, 3, 32, 32, 3\)"):
            discriminator(_random((1, 3, 32, 32, 3)))

    def test_video_discriminator_keeps_the_original_geometry_at_ten_frames(self):
        sizes = [10, 64]
        for layer, paddings in enumerate(video_discriminator.PADDINGS):
            pads = [video_discriminator._padding(s, p) for s, p in zip(sizes, paddings[:2])]
            self.assertEqual([p[0] for p in pads], list(paddings[:2]))
            stride = (1, 2) if layer < 4 else (1, 1)
            sizes = [(s + 2 * p - 4) // st + 1 for s, p, st in zip(sizes, paddings[:2], stride)]
        self.assertEqual(sizes, [1, 1])

    def test_identity_kernels_leave_content_unchanged(self):
        generator = self.models["synthetic"]["content_generator"]
        config = generator.config
        _, features = generator.content_state(_random((2, config.content_dim)), _labels(config))
        center = np.zeros(config.kernel_size, "float32")
        center[config.kernel_size // 2] = 1.0
        motion = []
        for side in config.fused_resolutions:
            taps = np.broadcast_to(center, (2, side, side, config.kernel_size))
            motion.append([taps, taps, np.full((2, side, side, 1), 0.7, "float32")])
        plain, plain_features = generator.decode(features)
        fused, fused_features = generator.decode(features, motion)
        self.assertAllCloseNumpy(fused, plain, atol=1e-5)
        for a, b in zip(fused_features, plain_features):
            self.assertAllCloseNumpy(a, b, atol=1e-5)

    def test_serialization_round_trip(self):
        for model in self.models["synthetic"].values():
            self.run_serialization_test(model)
