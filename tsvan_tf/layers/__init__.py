"""Reusable Keras layers of TwoStreamVAN (keras.ops only: TensorFlow and JAX backends)."""

from tsvan_tf.layers.conv_lstm_motion_accumulator import ConvLSTMMotionAccumulator
from tsvan_tf.layers.frame_stacked_conv3d import FrameStackedConv3D
from tsvan_tf.layers.motion_mask_fusion import MotionMaskFusion
from tsvan_tf.layers.spatially_adaptive_conv import SpatiallyAdaptiveConv

__all__ = ["ConvLSTMMotionAccumulator", "FrameStackedConv3D", "MotionMaskFusion", "SpatiallyAdaptiveConv"]
