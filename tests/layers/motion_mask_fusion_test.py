"""Tests of MotionMaskFusion (spec 3.2, paper Eq. 2)."""

import keras
import numpy as np
from absl.testing import parameterized
from keras import ops

from tests.layers import reference
from tests.layers.gradients import gradients
from tsvan_tf import testing
from tsvan_tf.layers import MotionMaskFusion
from tsvan_tf.layers import SpatiallyAdaptiveConv


def _random(shape, seed, low=None):
    rng = np.random.default_rng(seed)
    if low is not None:
        return rng.uniform(low, 1.0, size=shape).astype("float32")
    return rng.normal(size=shape).astype("float32")


class MotionMaskFusionTest(testing.TestCase):

    @parameterized.named_parameters(
        ("separable_mask", "separable", True,
         [(2, 8, 8, 4), (2, 8, 8, 3), (2, 8, 8, 3), (2, 8, 8, 1)]),
        ("separable_no_mask", "separable", False, [(2, 8, 8, 4), (2, 8, 8, 3), (2, 8, 8, 3)]),
        ("full_mask", "full", True, [(2, 8, 8, 4), (2, 8, 8, 9), (2, 8, 8, 1)]),
    )
    def test_layer_behaviors(self, kernel_mode, use_mask, input_shape):
        self.run_layer_test(
            MotionMaskFusion,
            {"kernel_size": 3, "kernel_mode": kernel_mode, "use_mask": use_mask},
            input_shape=input_shape,
            expected_output_shape=(2, 8, 8, 4),
            expected_num_trainable_weights=0,
        )

    @parameterized.product(kernel_size=[3, 5], padding=["replicate", "zeros"])
    def test_correctness_against_formula(self, kernel_size, padding):
        features = _random((2, 7, 9, 3), 0)
        vertical = _random((2, 7, 9, kernel_size), 1)
        horizontal = _random((2, 7, 9, kernel_size), 2)
        mask = _random((2, 7, 9, 1), 3, low=0.0)
        warped = reference.adaptive_conv(
            features, reference.separable_to_full(vertical, horizontal), kernel_size, padding)
        expected = mask * warped + (1.0 - mask) * features
        output = MotionMaskFusion(kernel_size, padding=padding)(
            [features, vertical, horizontal, mask])
        self.assertAllCloseNumpy(output, expected, atol=1e-5, rtol=1e-5)

    def test_zero_mask_returns_features(self):
        features = _random((2, 8, 8, 5), 4)
        output = MotionMaskFusion(5)([features, _random((2, 8, 8, 5), 5),
                                      _random((2, 8, 8, 5), 6), np.zeros((2, 8, 8, 1), "float32")])
        self.assertAllCloseNumpy(output, features, atol=0, rtol=0)

    def test_unit_mask_returns_adaptive_conv(self):
        features, v, h = _random((2, 8, 8, 5), 7), _random((2, 8, 8, 5), 8), _random((2, 8, 8, 5), 9)
        output = MotionMaskFusion(5)([features, v, h, np.ones((2, 8, 8, 1), "float32")])
        self.assertAllCloseNumpy(output, SpatiallyAdaptiveConv(5)([features, v, h]),
                                 atol=1e-6, rtol=1e-6)

    def test_without_mask_is_adaptive_conv(self):
        features, kernels = _random((2, 8, 8, 5), 10), _random((2, 8, 8, 9), 11)
        output = MotionMaskFusion(3, "full", use_mask=False)([features, kernels])
        self.assertAllCloseNumpy(output, SpatiallyAdaptiveConv(3, "full")([features, kernels]),
                                 atol=0, rtol=0)

    def test_mask_gradient(self):
        features, v, h = _random((1, 5, 6, 2), 12), _random((1, 5, 6, 3), 13), _random((1, 5, 6, 3), 14)
        mask = _random((1, 5, 6, 1), 15, low=0.0)
        upstream = _random((1, 5, 6, 2), 16)
        layer = MotionMaskFusion(3)
        (d_mask,) = gradients(lambda m: ops.sum(layer([features, v, h, m]) * upstream), [mask])
        warped = reference.adaptive_conv(features, reference.separable_to_full(v, h), 3, "replicate")
        expected = np.sum(upstream * (warped - features), axis=-1, keepdims=True)
        self.assertAllCloseNumpy(d_mask, expected, atol=1e-5, rtol=1e-5)

    def test_model_saving_in_fresh_process(self):
        inputs = [keras.Input((8, 8, 4)), keras.Input((8, 8, 3)), keras.Input((8, 8, 3)),
                  keras.Input((8, 8, 1))]
        model = keras.Model(inputs, MotionMaskFusion(3, padding="zeros")(inputs))
        data = [_random((2, 8, 8, 4), 17), _random((2, 8, 8, 3), 18), _random((2, 8, 8, 3), 19),
                _random((2, 8, 8, 1), 20, low=0.0)]
        loaded = self.run_model_saving_test(model, data, fresh_process=True)
        self.assertEqual(loaded.layers[-1].get_config()["padding"], "zeros")

    def test_mixed_precision_output_dtype(self):
        layer = MotionMaskFusion(3, dtype="mixed_float16")
        output = layer([_random((2, 8, 8, 4), 0), _random((2, 8, 8, 3), 0),
                        _random((2, 8, 8, 3), 0), _random((2, 8, 8, 1), 0, low=0.0)])
        self.assertEqual(keras.backend.standardize_dtype(output.dtype), "float16")
        self.assertEqual(layer.adaptive_conv.dtype_policy.name, "mixed_float16")

    def test_even_kernel_size_raises(self):
        with self.assertRaisesRegex(ValueError, r"Received: kernel_size=4"):
            MotionMaskFusion(kernel_size=4)

    def test_bad_use_mask_raises(self):
        with self.assertRaisesRegex(ValueError, r"Received: use_mask='yes'"):
            MotionMaskFusion(use_mask="yes")

    def test_mask_channels_raises(self):
        with self.assertRaisesRegex(
                ValueError, r"mask must have 1 channels, got 4.*mask=\(2, 8, 8, 4\)"):
            MotionMaskFusion(3)([_random((2, 8, 8, 4), 0), _random((2, 8, 8, 3), 0),
                                 _random((2, 8, 8, 3), 0), _random((2, 8, 8, 4), 0)])

    def test_mask_spatial_mismatch_raises(self):
        with self.assertRaisesRegex(
                ValueError, r"mask must have the features' width size \(8\), got 4"):
            MotionMaskFusion(3)([_random((2, 8, 8, 4), 0), _random((2, 8, 8, 3), 0),
                                 _random((2, 8, 8, 3), 0), _random((2, 8, 4, 1), 0)])

    def test_missing_mask_raises(self):
        with self.assertRaisesRegex(
                ValueError, r"use_mask=True is called on a list \[features, vertical, horizontal, "
                            r"mask\] of 4 tensors"):
            MotionMaskFusion(3)([_random((2, 8, 8, 4), 0), _random((2, 8, 8, 3), 0),
                                 _random((2, 8, 8, 3), 0)])
