"""Tests of FrameStackedConv3D: standard layer behaviour and equality with a direct Conv3D."""

import numpy as np
from absl.testing import parameterized

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
