"""Motion fusion: adaptive convolution applied where the motion mask says (TwoStreamVAN, Eq. 2)."""

import keras

from tsvan_tf.layers.spatially_adaptive_conv import SpatiallyAdaptiveConv
from tsvan_tf.layers.spatially_adaptive_conv import check_kernel_shapes
from tsvan_tf.layers.adaptive_conv_ops import validate_kernel_arguments


@keras.saving.register_keras_serializable(package="tsvan_tf")
class MotionMaskFusion(keras.layers.Layer):
    """Blends content features with their motion-warped version under a soft mask.

    `output = mask * SAC(features) + (1 - mask) * features`, where `SAC` is a
    `SpatiallyAdaptiveConv` with the per-pixel kernels predicted by the motion stream and `mask`
    (one channel, in `[0, 1]`) is broadcast over the feature channels. With `use_mask=False`
    (the paper's TwoStreamVAN(-M) ablation) the mask input is omitted and the output is
    `SAC(features)`.

    Args:
        kernel_size: `n`, the kernel's side; odd and >= 1. Defaults to 5.
        kernel_mode: `"separable"` or `"full"`, as in `SpatiallyAdaptiveConv`.
        padding: `"replicate"` or `"zeros"`, as in `SpatiallyAdaptiveConv`.
        use_mask: blend with the mask (default) or apply the adaptive convolution everywhere.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[features, vertical, horizontal, mask]` (separable) or `[features, kernels,
            mask]` (full); without the trailing `mask` when `use_mask=False`.

    Input shape:
        features `(batch, height, width, channels)`; vertical and horizontal
        `(batch, height, width, n)` or kernels `(batch, height, width, n * n)`; mask
        `(batch, height, width, 1)`.

    Output shape:
        `(batch, height, width, channels)`.

    Example:

    >>> features = np.random.rand(2, 8, 8, 16).astype("float32")
    >>> v, h = np.random.rand(2, 2, 8, 8, 5).astype("float32")
    >>> mask = np.random.rand(2, 8, 8, 1).astype("float32")
    >>> MotionMaskFusion()([features, v, h, mask]).shape
    (2, 8, 8, 16)

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN: Improving Motion Modeling in Video Generation",
        WACV 2020, arXiv:1812.01037, Eq. 2 (mask-gated fusion of the two streams).
    """

    def __init__(self, kernel_size=5, kernel_mode="separable", padding="replicate",
                 use_mask=True, **kwargs):
        super().__init__(**kwargs)
        validate_kernel_arguments(kernel_size, kernel_mode, padding)
        if not isinstance(use_mask, bool):
            raise ValueError(f"`use_mask` must be a bool. Received: use_mask={use_mask!r}")
        self.kernel_size = kernel_size
        self.kernel_mode = kernel_mode
        self.padding = padding
        self.use_mask = use_mask
        self.adaptive_conv = SpatiallyAdaptiveConv(
            kernel_size=kernel_size, kernel_mode=kernel_mode, padding=padding,
            dtype=self.dtype_policy, name="adaptive_conv",
        )
        num_kernels = 2 if kernel_mode == "separable" else 1
        self._num_conv_inputs = 1 + num_kernels

    def _input_names(self):
        names = ["features"]
        names += ["vertical", "horizontal"] if self.kernel_mode == "separable" else ["kernels"]
        return names + (["mask"] if self.use_mask else [])

    def build(self, input_shape):
        names = self._input_names()
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != len(names) or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(
                f"MotionMaskFusion with kernel_mode={self.kernel_mode!r} and "
                f"use_mask={self.use_mask} is called on a list [{', '.join(names)}] of "
                f"{len(names)} tensors. Received input shapes: {input_shape}"
            )
        expected = dict(zip(names[1:], self.adaptive_conv.expected_kernel_channels + [1]))
        check_kernel_shapes("MotionMaskFusion", input_shape[0],
                            dict(zip(names[1:], input_shape[1:])), expected)
        self.adaptive_conv.build(list(input_shape[:self._num_conv_inputs]))
        self.built = True

    def call(self, inputs):
        warped = self.adaptive_conv(list(inputs[:self._num_conv_inputs]))
        if not self.use_mask:
            return warped
        features, mask = inputs[0], inputs[-1]
        return features + mask * (warped - features)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "kernel_mode": self.kernel_mode,
            "padding": self.padding,
            "use_mask": self.use_mask,
        }
