"""The 3-D CNN action classifier of the paper's evaluation protocol (spec 7.1)."""

import keras
from keras import ops

from tsvan_tf.layers.frame_stacked_conv3d import FrameStackedConv3D
from tsvan_tf.metrics.classifier_config import ClassifierConfig
from tsvan_tf.models import _blocks
from tsvan_tf.models.video_discriminator import KERNEL
from tsvan_tf.models.video_discriminator import apply_stack
from tsvan_tf.models.video_discriminator import build_stack


@keras.saving.register_keras_serializable(package="tsvan_tf")
class ActionClassifier(keras.Model):
    """Classifies the action of a clip; its softmax scores generated videos (spec 7.1, 7.2).

    The video discriminator's stack (spec 2.9) with its own head: four bias-free 4x4x4 Conv3D
    layers (widths w, 2w, 4w, 8w, strides (1, 2, 2), explicit zero padding, BatchNorm on the
    2nd-4th, LeakyReLU) and a final Conv3D to `num_classes` logits, averaged over the remaining
    (T', H', W') grid (1x1x1 at T = 10, 64x64, as the original). Other clip lengths >= 4 and
    resolutions divisible by 16 use the discriminator's grown padding. The penultimate features
    (the 8w-channel map averaged over time and space) feed the classifier Frechet distance.

    Args:
        config: a `ClassifierConfig`.
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        videos: `(batch, frames, resolution, resolution, 3)` in [-1, 1].
        training: BatchNorm mode.

    Returns:
        Class logits `(batch, num_classes)`, float32.

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN", WACV 2020, arXiv:1812.01037, Sec. 4 (evaluation).
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        w, dtype = config.width, self.dtype_policy
        widths = (w, 2 * w, 4 * w, 8 * w, config.num_classes)
        self.convs = [
            FrameStackedConv3D(filters, KERNEL, strides=2 if i < 4 else 1,
                                kernel_initializer=_blocks.xavier_initializer(), dtype=dtype,
                                name=f"conv{i}")
            for i, filters in enumerate(widths)]
        self.norms = [keras.layers.BatchNormalization(
            momentum=config.batch_norm_momentum, epsilon=config.batch_norm_epsilon,
            dtype=dtype, name=f"norm{i}") for i in (1, 2, 3)]
        self.activation = keras.layers.LeakyReLU(config.leaky_relu_slope, dtype=dtype)
        self.build()

    def build(self, input_shape=None):
        build_stack(self.convs, self.norms, self.config.frames, self.config.resolution)
        self.built = True

    def features_and_logits(self, videos, training=False):
        """Returns `(features (batch, 8 * width), logits (batch, num_classes))`, float32."""
        config = self.config
        expected = (config.frames, config.resolution, config.resolution, 3)
        if len(videos.shape) != 5 or tuple(videos.shape[1:]) != expected:
            raise ValueError(
                f"ActionClassifier expects videos (batch, {expected[0]}, {expected[1]}, "
                f"{expected[2]}, 3) (its config's frames and resolution). Received: "
                f"shape={tuple(videos.shape)}")
        hidden, x = apply_stack(ops.cast(videos, self.compute_dtype), self.convs, self.norms,
                                self.activation, training)
        return (ops.cast(ops.mean(hidden, axis=(1, 2, 3)), "float32"),
                ops.cast(ops.mean(x, axis=(1, 2, 3)), "float32"))

    def call(self, videos, training=False):
        return self.features_and_logits(videos, training=training)[1]

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(ClassifierConfig.from_dict(config.pop("config")), **config)
