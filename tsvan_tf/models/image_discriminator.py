"""D_I: the unconditional patch image discriminator (spec 2.8)."""

import keras
from keras import ops

from tsvan_tf.models import _blocks


@keras.saving.register_keras_serializable(package="tsvan_tf")
class ImageDiscriminator(_blocks.ConfigSerialization, keras.Model):
    """Scores every patch of a frame as real or generated (logits).

    Four bias-free 4x4 stride-2 convolutions (widths w, 2w, 4w, 1 with w =
    `image_discriminator_width`), BatchNorm on the second and third, LeakyReLU(0.2) after the
    first three. Unconditional (no label). Call it separately on real and generated batches:
    its BatchNorm must never mix their statistics.

    Args:
        config: a `ModelConfig`.
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        images: `(batch, height, width, 3)`, height and width divisible by 16.
        training: BatchNorm mode.

    Returns:
        Patch logits `(batch, height/16, width/16, 1)` (4x4 at 64x64), float32.

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN", WACV 2020, arXiv:1812.01037, Sec. 3.1 (image
        discriminator of the content stream).
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        w, dtype = config.image_discriminator_width, self.dtype_policy
        widths = (w, 2 * w, 4 * w, 1)
        self.convs, self.norms = [], []
        in_channels = 3
        for index, filters in enumerate(widths):
            self.convs.append(_blocks.conv2d(filters, 4, in_channels, dtype, f"conv{index}",
                                             strides=2, use_bias=False))
            in_channels = filters
        self.norms = [_blocks.batch_norm(config, dtype, f"norm{index}") for index in (1, 2)]
        self.activation = keras.layers.LeakyReLU(config.leaky_relu_slope, dtype=dtype)
        self.build()

    def build(self, input_shape=None):
        side, in_channels = self.config.resolution, 3
        for index, conv in enumerate(self.convs):
            conv.build((None, side, side, in_channels))
            side, in_channels = side // 2, conv.filters
            if 1 <= index <= 2:
                self.norms[index - 1].build((None, side, side, in_channels))
        self.built = True

    def call(self, images, training=False):
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[-1] != 3:
            raise ValueError(f"ImageDiscriminator expects images (batch, height, width, 3). "
                             f"Received: shape={shape}")
        x = ops.cast(images, self.compute_dtype)
        for index, conv in enumerate(self.convs):
            x = conv(x)
            if 1 <= index <= 2:
                x = self.norms[index - 1](x, training=training)
            if index < len(self.convs) - 1:
                x = self.activation(x)
        return ops.cast(x, "float32")
