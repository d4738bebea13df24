"""tsvan_tf: TwoStreamVAN action-conditioned video generation for Keras 3 / TensorFlow."""

from tsvan_tf.layers import ConvLSTMMotionAccumulator
from tsvan_tf.layers import MotionMaskFusion
from tsvan_tf.layers import SpatiallyAdaptiveConv
from tsvan_tf.version import __version__

__all__ = [
    "ConvLSTMMotionAccumulator",
    "MotionMaskFusion",
    "SpatiallyAdaptiveConv",
    "__version__",
]
