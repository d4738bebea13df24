"""Tests of FrameStackedConv3D: standard layer behaviour and equality with a direct Conv3D."""

import keras
import numpy as np
from absl.testing import parameterized

from tests.layers.gradients import gradients
from tsvan_tf import testing
from tsvan_tf.layers import FrameStackedConv3D


def _direct_conv3d(x, kernel, stride):
    """Valid 3-D correlation with temporal stride 1 and spatial stride `stride`, in loops."""
    k = kernel.shape[0]
    batch, time, height, width, _ = x.shape
    out_t, out_h, out_w = time - k + 1, (height - k) // stride + 1, (width - k) // stride + 1
    y = np.zeros((batch, out_t, out_h, out_w, kernel.shape[-1]))
    for t in range(out_t):
        for i in range(out_h):
            for j in range(out_w):
                patch = x[:, t:t + k, i * stride:i * stride + k, j * stride:j * stride + k]
                y[:, t, i, j] = np.einsum("bdhwc,dhwcf->bf", patch, kernel)
    return y


def _direct_conv3d_gradients(x, kernel, stride, upstream):
    """Gradients of `sum(conv3d(x, kernel) * upstream)` w.r.t. `x` and `kernel`, in loops."""
    k = kernel.shape[0]
    d_x, d_kernel = np.zeros_like(x), np.zeros_like(kernel)
    _, out_t, out_h, out_w, _ = upstream.shape
    for t in range(out_t):
        for i in range(out_h):
            for j in range(out_w):
                window = (slice(None), slice(t, t + k), slice(i * stride, i * stride + k),
                          slice(j * stride, j * stride + k))
                d_x[window] += np.einsum("bf,dhwcf->bdhwc", upstream[:, t, i, j], kernel)
                d_kernel += np.einsum("bdhwc,bf->dhwcf", x[window], upstream[:, t, i, j])
    return d_x, d_kernel


class FrameStackedConv3DTest(testing.TestCase):

    def test_layer_behaviors(self):
        self.run_layer_test(
            FrameStackedConv3D, {"filters": 3, "kernel_size": 2, "strides": 2},
            input_shape=(2, 3, 6, 6, 2), expected_output_shape=(2, 2, 3, 3, 3),
            expected_num_trainable_weights=1)

    @parameterized.parameters(1, 2)
    def test_equals_direct_conv3d(self, stride):
        rng = np.random.default_rng(stride)
        x = rng.normal(size=(2, 7, 10, 10, 5)).astype("float32")
        layer = FrameStackedConv3D(6, 4, strides=stride)
        layer.build(x.shape)
        expected = _direct_conv3d(x.astype(np.float64), layer.kernel.numpy().astype(np.float64),
                                  stride)
        self.assertEqual(tuple(layer.compute_output_shape(x.shape)), expected.shape)
        self.assertAllClose(np.asarray(layer(x)), expected, atol=1e-4)

    @parameterized.parameters(1, 2)
    def test_gradients_equal_direct_conv3d(self, stride):
        """Input and kernel gradients (the window stacking's is written by hand)."""
        rng = np.random.default_rng(10 + stride)
        x = rng.normal(size=(2, 6, 9, 9, 3)).astype("float32")
        layer = FrameStackedConv3D(5, 4, strides=stride)
        layer.build(x.shape)
        kernel = keras.ops.convert_to_numpy(layer.kernel).astype(np.float64)
        upstream = rng.normal(size=layer.compute_output_shape(x.shape)).astype("float32")
        expected_x, expected_kernel = _direct_conv3d_gradients(
            x.astype(np.float64), kernel, stride, upstream.astype(np.float64))

        def loss(inputs, kernel_value):
            outputs, _ = layer.stateless_call([kernel_value], [], inputs)
            return keras.ops.sum(outputs * upstream)

        d_x, d_kernel = gradients(loss, [x, kernel.astype("float32")])
        self.assertAllClose(d_x, expected_x, atol=1e-4)
        self.assertAllClose(d_kernel, expected_kernel, atol=1e-4)
