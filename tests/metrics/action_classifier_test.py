"""Tests of the action classifier: geometry, equivalence of its Conv3D, saving, bad inputs."""

import keras
import numpy as np
import tensorflow as tf

from tsvan_tf import testing
from tsvan_tf.metrics.action_classifier import ActionClassifier
from tsvan_tf.layers import FrameStackedConv3D
from tsvan_tf.metrics.classifier_config import ClassifierConfig

TINY = dict(num_classes=3, frames=4, resolution=16, width=4)


def _videos(config, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    shape = (batch, config.frames, config.resolution, config.resolution, 3)
    return rng.uniform(-1, 1, size=shape).astype("float32")


class ActionClassifierTest(testing.TestCase):

    def test_frame_stacked_conv_equals_conv3d(self):
        x = np.random.default_rng(1).normal(size=(2, 7, 10, 10, 5)).astype("float32")
        for strides in (1, 2):
            layer = FrameStackedConv3D(6, 4, strides, "glorot_uniform")
            reference = keras.layers.Conv3D(6, 4, strides=(1, strides, strides),
                                            padding="valid", use_bias=False)
            reference.build(x.shape)
            layer.build(x.shape)
            reference.kernel.assign(layer.kernel)
            self.assertEqual(tuple(layer.compute_output_shape(x.shape)), reference(x).shape)
            self.assertAllCloseNumpy(layer(x), reference(x), atol=1e-5)

    def test_original_geometry_and_parameter_count(self):
        # T = 10 at 64x64 collapses to a 1x1x1 grid; bias-free convs, BatchNorm on 3 layers.
        config = ClassifierConfig(num_classes=5, width=2)
        model = ActionClassifier(config)
        w = config.width
        convs = 4 ** 3 * (3 * w + w * 2 * w + 2 * w * 4 * w + 4 * w * 8 * w + 8 * w * 5)
        batch_norms = 4 * (2 + 4 + 8) * w  # gamma, beta, moving mean and variance
        self.assertEqual(model.count_params(), convs + batch_norms)
        features, logits = model.features_and_logits(_videos(config, batch=1))
        self.assertEqual(tuple(features.shape), (1, 8 * w))
        self.assertEqual(tuple(logits.shape), (1, 5))

    def test_outputs_depend_on_motion(self):
        config = ClassifierConfig(**TINY)
        model = ActionClassifier(config)
        videos = _videos(config)
        logits = model(videos)
        self.assertEqual(tuple(logits.shape), (2, 3))
        self.assertAllCloseNumpy(model.features_and_logits(videos)[1], logits)
        self.assertNotAllClose(keras.ops.convert_to_numpy(model(videos[:, ::-1])),
                               keras.ops.convert_to_numpy(logits))

    def test_serialization_and_saving(self):
        config = ClassifierConfig(**TINY)
        model = ActionClassifier(config)
        self.run_serialization_test(model)
        self.run_model_saving_test(model, _videos(config))

    def test_bad_inputs_raise(self):
        config = ClassifierConfig(**TINY)
        model = ActionClassifier(config)
        with self.assertRaisesRegex(ValueError, r"\(batch, 4, 16, 16, 3\).*shape=\(2, 5, 16"):
            model(np.zeros((2, 5, 16, 16, 3), "float32"))
        with self.assertRaisesRegex(ValueError, "multiple of 16.*resolution=24"):
            ClassifierConfig(resolution=24)
        with self.assertRaisesRegex(ValueError, "frames.*>= 4.*frames=3"):
            ClassifierConfig(frames=3)


if __name__ == "__main__":
    tf.test.main()
