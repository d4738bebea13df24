"""Spatially adaptive convolution: one predicted kernel per pixel (TwoStreamVAN, Eq. 1)."""

import keras

from tsvan_tf.layers.adaptive_conv_ops import adaptive_conv
from tsvan_tf.layers.adaptive_conv_ops import validate_kernel_arguments

@keras.saving.register_keras_serializable(package="tsvan_tf")
class SpatiallyAdaptiveConv(keras.layers.Layer):
    """Convolves each pixel with its own predicted kernel, shared by all channels.

    For each pixel `(y, x)` the layer takes an `n x n` kernel and correlates it (no flip) with the
    `n x n` neighbourhood of the features around `(y, x)`, for every channel alike. The kernel is
    used as given: no normalisation, no bias. In `"separable"` mode the kernel is the outer product
    of a vertical and a horizontal 1-D kernel (the original's CUDA `SeparableConvolution`); in
    `"full"` mode it is a general `n x n` kernel. It is computed as a sum of `n^2` shifted slices,
    which XLA fuses into one pass; patches are never materialised.

    `out[b,y,x,c] = sum_{i,j} P[b,y+i,x+j,c] * vertical[b,y,x,i] * horizontal[b,y,x,j]`, where `P`
    is the features padded by `n // 2` on each side.

    Args:
        kernel_size: `n`, the kernel's side; odd and >= 1. Defaults to 5.
        kernel_mode: `"separable"` (two `n`-tap kernels per pixel) or `"full"` (`n * n` taps).
        padding: `"replicate"` (edge values, as the original) or `"zeros"`.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[features, vertical, horizontal]` in `"separable"` mode or `[features, kernels]`
            in `"full"` mode. Kernel tap `(i, j)` of a full kernel is channel `i * n + j`
            (row-major); `i` is the row offset `i - n // 2`, `j` the column offset.

    Input shape:
        features `(batch, height, width, channels)`; vertical and horizontal
        `(batch, height, width, n)`; kernels `(batch, height, width, n * n)`.

    Output shape:
        `(batch, height, width, channels)`, the features' shape.

    Example:

    >>> features = np.random.rand(2, 16, 16, 8).astype("float32")
    >>> vertical = np.random.rand(2, 16, 16, 5).astype("float32")
    >>> horizontal = np.random.rand(2, 16, 16, 5).astype("float32")
    >>> SpatiallyAdaptiveConv(kernel_size=5)([features, vertical, horizontal]).shape
    (2, 16, 16, 8)

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN: Improving Motion Modeling in Video Generation",
        WACV 2020, arXiv:1812.01037, Eq. 1 (the adaptive convolution of the fusion).
    """

    def __init__(self, kernel_size=5, kernel_mode="separable", padding="replicate", **kwargs):
        super().__init__(**kwargs)
        validate_kernel_arguments(kernel_size, kernel_mode, padding)
        self.kernel_size = kernel_size
        self.kernel_mode = kernel_mode
        self.padding = padding

    @property
    def expected_kernel_channels(self):
        """Channels of each kernel input: `n` (separable) or `n * n` (full)."""
        n = self.kernel_size
        return [n, n] if self.kernel_mode == "separable" else [n * n]

    def _check_input_shapes(self, input_shape):
        names = ["vertical", "horizontal"] if self.kernel_mode == "separable" else ["kernels"]
        expected_count = 1 + len(names)
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != expected_count or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(
                f"{self.__class__.__name__} with kernel_mode={self.kernel_mode!r} is called on a "
                f"list [features, {', '.join(names)}] of {expected_count} tensors. "
                f"Received input shapes: {input_shape}"
            )
        check_kernel_shapes(
            self.__class__.__name__, input_shape[0],
            dict(zip(names, input_shape[1:])), dict(zip(names, self.expected_kernel_channels)),
        )

    def build(self, input_shape):
        self._check_input_shapes(input_shape)
        self.built = True

    def call(self, inputs):
        return adaptive_conv(inputs[0], list(inputs[1:]), self.kernel_mode, self.kernel_size,
                             self.padding)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "kernel_mode": self.kernel_mode,
            "padding": self.padding,
        }


def check_kernel_shapes(layer_name, features_shape, kernel_shapes, expected_channels):
    """Checks that per-pixel inputs agree with the features' batch and spatial size.

    Args:
        layer_name: the calling layer's class name, for the message.
        features_shape: `(B, H, W, C)`.
        kernel_shapes: `{name: shape}` of the per-pixel inputs (kernels, mask).
        expected_channels: `{name: channels}` each per-pixel input must have.

    Raises:
        ValueError: naming every shape involved.
    """
    shapes = {"features": tuple(features_shape), **{k: tuple(v) for k, v in kernel_shapes.items()}}
    described = ", ".join(f"{k}={v}" for k, v in shapes.items())
    for name, shape in shapes.items():
        if len(shape) != 4:
            raise ValueError(
                f"{layer_name} expects 4-D (batch, height, width, channels) inputs; {name} has "
                f"rank {len(shape)}. Received: {described}"
            )
    if shapes["features"][-1] is None:
        raise ValueError(
            f"{layer_name} needs a known number of feature channels. Received: {described}"
        )
    for name, shape in kernel_shapes.items():
        for axis, axis_name in ((0, "batch"), (1, "height"), (2, "width")):
            a, b = shapes["features"][axis], tuple(shape)[axis]
            if a is not None and b is not None and a != b:
                raise ValueError(
                    f"{layer_name}: {name} must have the features' {axis_name} size ({a}), "
                    f"got {b}. Received: {described}"
                )
        if tuple(shape)[-1] != expected_channels[name]:
            raise ValueError(
                f"{layer_name}: {name} must have {expected_channels[name]} channels, got "
                f"{tuple(shape)[-1]}. Received: {described}"
            )
