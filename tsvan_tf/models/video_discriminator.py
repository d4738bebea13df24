"""D_V: the categorical 3-D video discriminator (spec 2.9), for any clip length T >= 4."""

import keras
from keras import ops

from tsvan_tf.layers.frame_stacked_conv3d import FrameStackedConv3D
from tsvan_tf.models import _blocks

KERNEL = 4
# The original's (time, height, width) zero padding per Conv3D; strides (1, 2, 2) except the last.
PADDINGS = ((0, 1, 1), (0, 1, 1), (1, 1, 1), (1, 1, 1), (1, 0, 0))


def _padding(size, padding):
    """The original's padding, grown symmetrically where the input is shorter than the kernel."""
    if size + 2 * padding >= KERNEL:
        return padding, padding
    total = KERNEL - size
    return total // 2, total - total // 2


def build_stack(convs, norms, frames, resolution):
    """Builds the five padded 4x4x4 convolutions and the BatchNorms after the 2nd-4th."""
    shape = (frames, resolution, resolution)
    in_channels = 3
    for index, conv in enumerate(convs):
        padded = [size + sum(_padding(size, pad)) for size, pad in zip(shape, PADDINGS[index])]
        conv.build((None, *padded, in_channels))
        shape = tuple(conv.compute_output_shape((None, *padded, in_channels))[1:4])
        in_channels = conv.filters
        if 1 <= index <= 3:
            norms[index - 1].build((None, *shape, in_channels))


def apply_stack(x, convs, norms, activation, training):
    """Runs the stack (pad, conv, BatchNorm on the 2nd-4th, activation but after the last).

    Returns:
        `(penultimate, output)`: the last hidden map and the final one, `(batch, T', H', W', C)`.
    """
    penultimate = None
    for index, conv in enumerate(convs):
        pads = [_padding(size, pad) for size, pad in zip(x.shape[1:4], PADDINGS[index])]
        if index == len(convs) - 1:
            penultimate = x
        x = conv(ops.pad(x, [(0, 0), *pads, (0, 0)]))
        if 1 <= index <= 3:
            x = norms[index - 1](x, training=training)
        if index < len(convs) - 1:
            x = activation(x)
    return penultimate, x


@keras.saving.register_keras_serializable(package="tsvan_tf")
class VideoDiscriminator(_blocks.ConfigSerialization, keras.Model):
    """Scores a clip as real or generated and classifies its action (AC-GAN style).

    Five bias-free 4x4x4 Conv3D layers (widths w, 2w, 4w, 8w, 1 + K with w =
    `video_discriminator_width`; strides (1, 2, 2) then 1), BatchNorm on the 2nd-4th,
    LeakyReLU(0.2) after the first four, each preceded by explicit zero padding. The Conv3Ds are
    `FrameStackedConv3D`s: `keras.layers.Conv3D`'s weights and outputs, 30-80x faster gradients
    on CPU.

    Any clip length T >= 4 (and resolution divisible by 16): each layer uses the original's
    padding, except where its input along an axis is shorter than the kernel, where the padding
    is grown symmetrically to reach the kernel size; the final `(T', H', W')` grid of logits is
    averaged. At T = 10 and 64x64 the paddings are the original's and the grid is 1x1x1, so the
    network is exactly the original's; at T = 4 every layer sees one time step (padded); at T =
    12 three temporal positions are averaged. The weights never depend on T.

    Call it separately on real and generated batches: its BatchNorm must never mix them.

    Args:
        config: a `ModelConfig`.
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        videos: `(batch, time, height, width, 3)`, time >= 4.
        training: BatchNorm mode.

    Returns:
        `(logits, class_logits)`: real/fake logits `(batch,)` and class logits
        `(batch, num_classes)`, float32.

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN", WACV 2020, arXiv:1812.01037, Sec. 3.3 (video
        discriminator with an auxiliary classifier).
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        w, dtype = config.video_discriminator_width, self.dtype_policy
        widths = (w, 2 * w, 4 * w, 8 * w, 1 + config.num_classes)
        self.convs = []
        for index, filters in enumerate(widths):
            # Spatial strides 2 then 1 (temporal 1), as one Conv2D over stacked frame windows.
            self.convs.append(FrameStackedConv3D(
                filters, KERNEL, strides=2 if index < len(widths) - 1 else 1,
                kernel_initializer=_blocks.xavier_initializer(), dtype=dtype, name=f"conv{index}"))
        self.norms = [_blocks.batch_norm(config, dtype, f"norm{index}") for index in (1, 2, 3)]
        self.activation = keras.layers.LeakyReLU(config.leaky_relu_slope, dtype=dtype)
        self.build()

    def build(self, input_shape=None):
        build_stack(self.convs, self.norms, self.config.frames, self.config.resolution)
        self.built = True

    def call(self, videos, training=False):
        shape = tuple(videos.shape)
        if len(shape) != 5 or shape[-1] != 3 or shape[1] is None or shape[1] < KERNEL:
            raise ValueError(
                f"VideoDiscriminator expects videos (batch, time >= {KERNEL}, height, width, 3). "
                f"Received: shape={shape}"
            )
        _, x = apply_stack(ops.cast(videos, self.compute_dtype), self.convs, self.norms,
                           self.activation, training)
        x = ops.cast(ops.mean(x, axis=(1, 2, 3)), "float32")
        return x[:, 0], x[:, 1:]
