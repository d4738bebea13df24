"""tsvan_tf: TwoStreamVAN action-conditioned video generation for Keras 3 / TensorFlow."""

from tsvan_tf.config import LossConfig
from tsvan_tf.config import ModelConfig
from tsvan_tf.config import TrainConfig
from tsvan_tf.layers import ConvLSTMMotionAccumulator
from tsvan_tf.layers import MotionMaskFusion
from tsvan_tf.layers import SpatiallyAdaptiveConv
from tsvan_tf.models import ImageDiscriminator
from tsvan_tf.models import SingleStreamVAN
from tsvan_tf.models import TwoStreamVAN
from tsvan_tf.models import VideoDiscriminator
from tsvan_tf.version import __version__

__all__ = [
    "ConvLSTMMotionAccumulator",
    "ImageDiscriminator",
    "LossConfig",
    "ModelConfig",
    "MotionMaskFusion",
    "SingleStreamVAN",
    "SpatiallyAdaptiveConv",
    "TrainConfig",
    "TwoStreamVAN",
    "VideoDiscriminator",
    "__version__",
]
