"""Tests of SpatiallyAdaptiveConv against a direct loop of the formula (spec 3.1, paper Eq. 1)."""

import keras
import ml_dtypes
import numpy as np
from absl.testing import parameterized
from keras import ops

from tests.layers import reference
from tests.layers.gradients import gradients
from tsvan_tf import testing
from tsvan_tf.layers import SpatiallyAdaptiveConv
from tsvan_tf.layers.adaptive_conv_ops import compiled_with_xla


def _random(shape, seed):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


class SpatiallyAdaptiveConvTest(testing.TestCase):

    @parameterized.named_parameters(
        ("separable", "separable", [(2, 8, 8, 4), (2, 8, 8, 5), (2, 8, 8, 5)]),
        ("full", "full", [(2, 8, 8, 4), (2, 8, 8, 25)]),
    )
    def test_layer_behaviors(self, kernel_mode, input_shape):
        self.run_layer_test(
            SpatiallyAdaptiveConv,
            {"kernel_size": 5, "kernel_mode": kernel_mode},
            input_shape=input_shape,
            expected_output_shape=(2, 8, 8, 4),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
        )

    @parameterized.product(
        kernel_size=[3, 5, 7],
        padding=["replicate", "zeros"],
        size_and_channels=[(9, 7, 1), (6, 11, 3)],
    )
    def test_correctness_separable(self, kernel_size, padding, size_and_channels):
        height, width, channels = size_and_channels
        features = _random((2, height, width, channels), 0)
        vertical = _random((2, height, width, kernel_size), 1)
        horizontal = _random((2, height, width, kernel_size), 2)
        layer = SpatiallyAdaptiveConv(kernel_size, "separable", padding)
        expected = reference.adaptive_conv(
            features, reference.separable_to_full(vertical, horizontal), kernel_size, padding)
        self.assertAllCloseNumpy(layer([features, vertical, horizontal]), expected,
                                 atol=1e-5, rtol=1e-5)

    @parameterized.product(
        kernel_size=[3, 5, 7],
        padding=["replicate", "zeros"],
        size_and_channels=[(9, 7, 1), (6, 11, 3)],
    )
    def test_correctness_full(self, kernel_size, padding, size_and_channels):
        height, width, channels = size_and_channels
        features = _random((2, height, width, channels), 3)
        kernels = _random((2, height, width, kernel_size ** 2), 4)
        layer = SpatiallyAdaptiveConv(kernel_size, "full", padding)
        expected = reference.adaptive_conv(features, kernels, kernel_size, padding)
        self.assertAllCloseNumpy(layer([features, kernels]), expected, atol=1e-5, rtol=1e-5)

    @parameterized.product(padding=["replicate", "zeros"], size=[(7, 6), (1, 2), (2, 9)])
    def test_gradients_separable(self, padding, size):
        n = 5
        features = _random((2, *size, 3), 5)
        vertical = _random((2, *size, n), 6)
        horizontal = _random((2, *size, n), 7)
        upstream = _random((2, *size, 3), 8)
        layer = SpatiallyAdaptiveConv(n, "separable", padding)
        d_f, d_v, d_h = gradients(
            lambda f, v, h: ops.sum(layer([f, v, h]) * upstream), [features, vertical, horizontal])
        ref_f, ref_k = reference.adaptive_conv_gradients(
            features, reference.separable_to_full(vertical, horizontal), n, padding, upstream)
        ref_v, ref_h = reference.separable_kernel_gradients(ref_k, vertical, horizontal)
        self.assertAllCloseNumpy(d_f, ref_f, atol=1e-4, rtol=1e-5)
        self.assertAllCloseNumpy(d_v, ref_v, atol=1e-4, rtol=1e-5)
        self.assertAllCloseNumpy(d_h, ref_h, atol=1e-4, rtol=1e-5)

    @parameterized.named_parameters(("replicate", "replicate"), ("zeros", "zeros"))
    def test_gradients_full(self, padding):
        n = 3
        features = _random((2, 5, 8, 2), 9)
        kernels = _random((2, 5, 8, n * n), 10)
        upstream = _random((2, 5, 8, 2), 11)
        layer = SpatiallyAdaptiveConv(n, "full", padding)
        d_f, d_k = gradients(lambda f, k: ops.sum(layer([f, k]) * upstream), [features, kernels])
        ref_f, ref_k = reference.adaptive_conv_gradients(features, kernels, n, padding, upstream)
        self.assertAllCloseNumpy(d_f, ref_f, atol=1e-4, rtol=1e-5)
        self.assertAllCloseNumpy(d_k, ref_k, atol=1e-4, rtol=1e-5)

    @parameterized.named_parameters(("replicate", "replicate"), ("zeros", "zeros"))
    def test_compiled_with_xla_matches_reference(self, padding):
        # The trainer's default on a CPU: the op alone XLA-compiled inside a plain graph
        # (TensorFlow), forward and hand-written backward; on JAX the context changes nothing.
        n = 5
        features = _random((2, 7, 6, 3), 20)
        vertical = _random((2, 7, 6, n), 21)
        horizontal = _random((2, 7, 6, n), 22)
        upstream = _random((2, 7, 6, 3), 23)
        layer = SpatiallyAdaptiveConv(n, "separable", padding)

        def loss(f, v, h):
            with compiled_with_xla():
                return ops.sum(layer([f, v, h]) * upstream)

        full = reference.separable_to_full(vertical, horizontal)
        expected = reference.adaptive_conv(features, full, n, padding)
        ref_f, ref_k = reference.adaptive_conv_gradients(features, full, n, padding, upstream)
        ref_v, ref_h = reference.separable_kernel_gradients(ref_k, vertical, horizontal)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            @tf.function
            def forward_and_gradients(f, v, h):
                with tf.GradientTape() as tape:
                    tape.watch([f, v, h])
                    with compiled_with_xla():
                        output = layer([f, v, h])
                    value = tf.reduce_sum(output * upstream)
                return [output, *tape.gradient(value, [f, v, h])]

            args = [tf.constant(x) for x in (features, vertical, horizontal)]
            graph = forward_and_gradients.get_concrete_function(*args).graph
            compiled = [op for op in graph.get_operations()
                        if op.type in ("PartitionedCall", "StatefulPartitionedCall")
                        and op.node_def.attr["_XlaMustCompile"].b]
            self.assertNotEmpty(compiled, "the op was not traced as an XLA-compiled function")
            output, d_f, d_v, d_h = forward_and_gradients(*args)
        else:
            with compiled_with_xla():
                output = layer([features, vertical, horizontal])
            d_f, d_v, d_h = gradients(loss, [features, vertical, horizontal])
        self.assertAllCloseNumpy(output, expected, atol=1e-5, rtol=1e-5)
        self.assertAllCloseNumpy(d_f, ref_f, atol=1e-4, rtol=1e-5)
        self.assertAllCloseNumpy(d_v, ref_v, atol=1e-4, rtol=1e-5)
        self.assertAllCloseNumpy(d_h, ref_h, atol=1e-4, rtol=1e-5)

    @parameterized.named_parameters(("float16", "float16"), ("bfloat16", "bfloat16"))
    def test_half_precision_is_summed_in_float32(self, dtype):
        """Half-precision inputs give half-precision results within half an ulp of the exact
        values (summing the 25 taps in half precision drifts by several ulps)."""
        n = 5
        half = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.float16
        features, vertical, horizontal, upstream = (
            _random(shape, seed).astype(half) for seed, shape in enumerate(
                [(2, 6, 7, 8), (2, 6, 7, n), (2, 6, 7, n), (2, 6, 7, 8)], start=30))
        layer = SpatiallyAdaptiveConv(n, "separable", "replicate", dtype=dtype)
        exact = [x.astype("float64") for x in (features, vertical, horizontal, upstream)]
        full = reference.separable_to_full(exact[1], exact[2])
        expected = reference.adaptive_conv(exact[0], full, n, "replicate")
        ref_f, ref_k = reference.adaptive_conv_gradients(exact[0], full, n, "replicate", exact[3])
        ref_v, ref_h = reference.separable_kernel_gradients(ref_k, exact[1], exact[2])
        output = layer([features, vertical, horizontal])
        d_f, d_v, d_h = gradients(
            lambda f, v, h: ops.sum(ops.cast(layer([f, v, h]), "float32")
                                    * ops.cast(upstream, "float32")),
            [features, vertical, horizontal])
        half_ulp = float(np.finfo(half).eps) / 2
        for got, want in ((output, expected), (d_f, ref_f), (d_v, ref_v), (d_h, ref_h)):
            self.assertEqual(keras.backend.standardize_dtype(got.dtype), dtype)
            error = np.abs(ops.convert_to_numpy(got).astype("float64") - want)
            self.assertAllLessEqual(error - half_ulp * np.abs(want), 1e-5 * np.abs(want).max())

    @parameterized.named_parameters(("replicate", "replicate"), ("zeros", "zeros"))
    def test_identity_kernel_returns_input(self, padding):
        n = 5
        features = _random((2, 6, 9, 3), 12)
        centre = np.zeros((2, 6, 9, n), "float32")
        centre[..., n // 2] = 1.0
        output = SpatiallyAdaptiveConv(n, "separable", padding)([features, centre, centre])
        self.assertAllCloseNumpy(output, features, atol=0, rtol=0)

    def test_replicate_padding_uses_edge_values(self):
        # A kernel that reads only the pixel two rows up: the top rows must see row 0.
        n = 5
        features = _random((1, 6, 4, 2), 13)
        vertical = np.zeros((1, 6, 4, n), "float32")
        vertical[..., 0] = 1.0
        horizontal = np.zeros((1, 6, 4, n), "float32")
        horizontal[..., n // 2] = 1.0
        output = keras.ops.convert_to_numpy(
            SpatiallyAdaptiveConv(n)([features, vertical, horizontal]))
        np.testing.assert_array_equal(output[:, 0], features[:, 0])
        np.testing.assert_array_equal(output[:, 1], features[:, 0])
        np.testing.assert_array_equal(output[:, 2:], features[:, :-2])

    def test_model_saving_in_fresh_process(self):
        features = keras.Input((8, 8, 3))
        kernels = keras.Input((8, 8, 9))
        outputs = SpatiallyAdaptiveConv(3, "full", "zeros")([features, kernels])
        model = keras.Model([features, kernels], outputs)
        data = [_random((2, 8, 8, 3), 14), _random((2, 8, 8, 9), 15)]
        self.run_model_saving_test(model, data, fresh_process=True)

    def test_subclassed_model(self):
        class Warp(keras.Model):
            def __init__(self):
                super().__init__()
                self.kernels = keras.layers.Conv2D(10, 3, padding="same")
                self.sac = SpatiallyAdaptiveConv(5)

            def call(self, x):
                k = self.kernels(x)
                return self.sac([x, k[..., :5], k[..., 5:]])

        x = _random((2, 8, 8, 3), 16)
        self.assertEqual(tuple(Warp()(x).shape), (2, 8, 8, 3))

    @parameterized.named_parameters(
        ("even", {"kernel_size": 4}, r"Received: kernel_size=4"),
        ("zero", {"kernel_size": 0}, r"Received: kernel_size=0"),
        ("float", {"kernel_size": 3.0}, r"Received: kernel_size=3.0"),
        ("mode", {"kernel_mode": "dense"}, r"Received: kernel_mode='dense'"),
        ("padding", {"padding": "reflect"}, r"Received: padding='reflect'"),
    )
    def test_bad_argument_raises(self, kwargs, message):
        with self.assertRaisesRegex(ValueError, message):
            SpatiallyAdaptiveConv(**kwargs)

    def test_spatial_mismatch_raises(self):
        with self.assertRaisesRegex(
                ValueError, r"vertical must have the features' height size \(8\), got 6.*"
                            r"features=\(2, 8, 8, 3\), vertical=\(2, 6, 8, 5\)"):
            SpatiallyAdaptiveConv(5)([_random((2, 8, 8, 3), 0), _random((2, 6, 8, 5), 0),
                                      _random((2, 8, 8, 5), 0)])

    def test_batch_mismatch_raises(self):
        with self.assertRaisesRegex(ValueError, r"kernels must have the features' batch size"):
            SpatiallyAdaptiveConv(3, "full")([_random((2, 8, 8, 3), 0), _random((3, 8, 8, 9), 0)])

    def test_wrong_kernel_channels_raises(self):
        with self.assertRaisesRegex(
                ValueError, r"kernels must have 25 channels, got 5. Received: features="):
            SpatiallyAdaptiveConv(5, "full")([_random((2, 8, 8, 3), 0), _random((2, 8, 8, 5), 0)])

    def test_wrong_number_of_inputs_raises(self):
        with self.assertRaisesRegex(ValueError, r"called on a list \[features, vertical, "
                                                r"horizontal\] of 3 tensors"):
            SpatiallyAdaptiveConv(5)([_random((2, 8, 8, 3), 0), _random((2, 8, 8, 25), 0)])

    def test_wrong_rank_raises(self):
        with self.assertRaisesRegex(ValueError, r"expects 4-D \(batch, height, width, channels\) inputs; features has rank 3"):
            SpatiallyAdaptiveConv(3, "full")([_random((8, 8, 3), 0), _random((8, 8, 9), 0)])
