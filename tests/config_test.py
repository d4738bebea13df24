"""Tests of tsvan_tf.config."""

import dataclasses
import json

from tsvan_tf import testing
from tsvan_tf.config import LossConfig
from tsvan_tf.config import ModelConfig


class ModelConfigTest(testing.TestCase):

    def test_defaults_are_the_weizmann_preset(self):
        self.assertEqual(ModelConfig(), ModelConfig.from_preset("weizmann"))
        config = ModelConfig()
        self.assertEqual((config.num_classes, config.frames, config.resolution,
                          config.content_dim, config.motion_dim, config.base_width),
                         (10, 10, 64, 512, 64, 16))
        self.assertEqual(config.fused_resolutions, (8, 16, 32, 64))
        self.assertEqual(config.motion_noise_steps, 11)

    def test_presets(self):
        self.assertEqual(ModelConfig.from_preset("mug").num_classes, 6)
        synaction = ModelConfig.from_preset("synaction")
        self.assertEqual((synaction.num_classes, synaction.base_width, synaction.content_dim),
                         (20, 32, 1024))
        synthetic = ModelConfig.from_preset("synthetic", num_classes=8)
        self.assertEqual((synthetic.num_classes, synthetic.resolution), (8, 32))
        self.assertEqual(set(ModelConfig.preset_names()),
                         {"weizmann", "mug", "synaction", "synthetic"})

    def test_dict_round_trip_through_json(self):
        config = ModelConfig.from_preset("synthetic", use_mask=False)
        self.assertEqual(ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))), config)

    def test_frozen(self):
        with self.assertRaises(dataclasses.FrozenInstanceError):
            ModelConfig().frames = 12

    def test_derived_scales(self):
        config = ModelConfig(num_scales=2)
        self.assertEqual(config.fused_levels, (2, 3))
        self.assertEqual(config.fused_resolutions, (32, 64))

    @testing.parameterized.named_parameters(
        ("resolution", {"resolution": 60}, "resolution=60"),
        ("scales", {"num_scales": 5}, "num_scales=5"),
        ("frames", {"frames": 3}, "frames=3"),
        ("kernel", {"kernel_size": 4}, "kernel_size=4"),
        ("mode", {"kernel_mode": "diagonal"}, "kernel_mode='diagonal'"),
        ("branches", {"kernel_branch_channels": (32, 64, 16, 16)}, "kernel_branch_channels"),
        ("classes", {"num_classes": 0}, "num_classes=0"),
        ("joint", {"joint": 1}, "joint=1"),
        ("transpose_init", {"transpose_init": "glorot"}, "transpose_init='glorot'"),
        ("identity_kernels", {"identity_kernels": "yes"}, "identity_kernels='yes'"),
        ("label_scale", {"trajectory_label_scale": 0}, "trajectory_label_scale=0"),
        ("content_prior", {"content_prior": "gmm"}, "content_prior='gmm'"),
        ("content_prior_size", {"content_prior_size": 0}, "content_prior_size=0"),
        ("motion_prior", {"motion_prior": "gmm"}, "motion_prior='gmm'"),
        ("motion_prior_size", {"motion_prior_size": 0}, "motion_prior_size=0"),
    )
    def test_invalid_values_name_the_field(self, overrides, fragment):
        with self.assertRaisesRegex(ValueError, fragment):
            ModelConfig(**overrides)

    def test_unknown_field_and_preset(self):
        with self.assertRaisesRegex(ValueError, "frame_count"):
            ModelConfig.from_preset("weizmann", frame_count=3)
        with self.assertRaisesRegex(ValueError, "kth"):
            ModelConfig.from_preset("kth")


class LossConfigTest(testing.TestCase):

    def test_presets(self):
        self.assertEqual(LossConfig(), LossConfig.from_preset("weizmann"))
        mug = LossConfig.from_preset("mug")
        self.assertEqual((mug.content_kl_start, mug.video_kl_end), (5.0, 25.0))
        synaction = LossConfig.from_preset("synaction")
        self.assertEqual((synaction.pretrain_steps, synaction.prior_sample_weight),
                         (300_000, 0.1))
        self.assertEqual(LossConfig().content_task_prob_start, 0.6)

    def test_round_trip(self):
        config = LossConfig.from_preset("synthetic")
        self.assertEqual(LossConfig.from_dict(json.loads(json.dumps(config.to_dict()))), config)
        self.assertEqual(config.replace(equilibrium=0.5).equilibrium, 0.5)

    def test_invalid_values_name_the_field(self):
        with self.assertRaisesRegex(ValueError, "video_kl_end_step=10"):
            LossConfig(video_kl_start_step=100, video_kl_end_step=10)
        with self.assertRaisesRegex(ValueError, "sampling_start=2"):
            LossConfig(sampling_start=2.0)
        with self.assertRaisesRegex(ValueError, "reconstruction_weight=-1"):
            LossConfig(reconstruction_weight=-1.0)
        with self.assertRaisesRegex(ValueError, "prediction_target='pixels'"):
            LossConfig(prediction_target="pixels")
        with self.assertRaisesRegex(ValueError, "prediction_inputs='decoded'"):
            LossConfig(prediction_inputs="decoded")
        with self.assertRaisesRegex(ValueError, "prediction_self_feed='yes'"):
            LossConfig(prediction_self_feed="yes")
