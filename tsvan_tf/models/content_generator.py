"""The content head and G_c, fusing motion at the configured scales (spec 2.2, 2.3)."""

import keras
from keras import ops

from tsvan_tf.config import NUM_LEVELS
from tsvan_tf.layers import MotionMaskFusion
from tsvan_tf.models import _blocks


@keras.saving.register_keras_serializable(package="tsvan_tf")
class ContentGenerator(_blocks.ConfigSerialization, keras.Model):
    """Decodes a content code into a frame, optionally warped by motion kernels at each scale.

    The content head maps `concat(z_c, onehot)` through Dense + ReLU to `u`
    (`content_hidden_dim`; reused by the motion stream's joint product) and through Dense + ReLU
    to the content state `F` of shape `(resolution/8, resolution/8, g)`. G_c is a stack of
    bias-free 3x3 transposed convolutions over four pyramid levels (base, 2x, 4x, 8x = the
    frame): `F` -> 8g -> (4g, 2g) -> (2g, g, 3 with tanh). At every fused level
    (`config.fused_levels`) the level's output is replaced by `MotionMaskFusion` of it with that
    level's kernels and mask; the fused map feeds the next level. The frame is not re-squashed
    after the full-resolution fusion (as the original).

    Args:
        config: a `ModelConfig`.
        single_stream: if True (the SGVAN baseline of `SingleStreamVAN`), G_c decodes
            `concat(F, S)`, the content state and the `motion_channels` motion state, and no
            fusion layers are built.
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        content_code: `(batch, content_dim)`.
        labels: `(batch,)` integer class labels.

    Returns:
        The content-only frame `(batch, resolution, resolution, 3)` (no motion, no fusion).

    Attributes:
        head_layers: the two Dense layers of the content head.
        decoder_layers: the transposed convolutions of G_c.

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN", WACV 2020, arXiv:1812.01037, Sec. 3.2-3.3 (G_c and
        multi-scale fusion).
    """

    def __init__(self, config, single_stream=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(single_stream, bool):
            raise ValueError(f"`single_stream` must be a bool. Received: single_stream="
                             f"{single_stream!r}")
        self.config = config
        self.single_stream = single_stream
        g = config.base_width
        dtype = self.dtype_policy
        head_in = config.content_dim + config.num_classes
        self.hidden = _blocks.dense(config.content_hidden_dim, head_in, dtype, "hidden",
                                    activation="relu")
        self.state = _blocks.dense(config.base_resolution ** 2 * g, config.content_hidden_dim,
                                   dtype, "state", activation="relu")
        # (filters, strides, activation) per transposed conv, for pyramid levels 1..3.
        plan = (
            ((8 * g, 2, "relu"),),
            ((4 * g, 1, "relu"), (2 * g, 2, "relu")),
            ((2 * g, 1, "relu"), (g, 2, "relu"), (3, 1, "tanh")),
        )
        self.blocks = [
            [_blocks.conv2d_transpose(filters, 3, dtype, f"deconv{level}_{index}",
                                      strides=strides, use_bias=False, activation=activation,
                                      init=config.transpose_init)
             for index, (filters, strides, activation) in enumerate(layers)]
            for level, layers in enumerate(plan, start=1)
        ]
        self.fusions = [] if single_stream else [
            MotionMaskFusion(kernel_size=config.kernel_size, kernel_mode=config.kernel_mode,
                             padding=config.fusion_padding, use_mask=config.use_mask,
                             dtype=dtype, name=f"fusion{level}")
            for level in config.fused_levels
        ]
        self.build()

    def build(self, input_shape=None):
        config = self.config
        self.hidden.build((None, config.content_dim + config.num_classes))
        self.state.build((None, config.content_hidden_dim))
        channels = config.base_width + (config.motion_channels if self.single_stream else 0)
        shape = (None, config.base_resolution, config.base_resolution, channels)
        for block in self.blocks:
            for layer in block:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.built = True

    @property
    def head_layers(self):
        return [self.hidden, self.state]

    @property
    def decoder_layers(self):
        return [layer for block in self.blocks for layer in block]

    def content_state(self, content_code, labels):
        """The content head: returns `(u, F)`.

        Args:
            content_code: `(batch, content_dim)`.
            labels: `(batch,)` integer class labels.

        Returns:
            `u` `(batch, content_hidden_dim)` and `F` `(batch, resolution/8, resolution/8, g)`.
        """
        x = ops.concatenate([
            ops.cast(content_code, self.compute_dtype),
            _blocks.one_hot(labels, self.config.num_classes, self.compute_dtype),
        ], axis=-1)
        u = self.hidden(x)
        side = self.config.base_resolution
        features = ops.reshape(self.state(u), (-1, side, side, self.config.base_width))
        return u, features

    def decode(self, features, motion=None):
        """G_c with optional fusion: returns `(frame, scale_features)`.

        Args:
            features: the content state `F` `(batch, resolution/8, resolution/8, g)` (for a
                single-stream generator, `concat(F, S)`).
            motion: None for plain content decoding, or one list of fusion inputs per fused
                level, coarse to fine, as `MotionGenerator` returns them (`[vertical,
                horizontal, mask]`, `[kernels, mask]`, or without `mask` when `use_mask=False`).

        Returns:
            The frame `(batch, resolution, resolution, 3)` and the list of feature maps at the
            fused levels below full resolution, coarse to fine (after fusion when `motion` is
            given): the targets and inputs of the scale-feature matching loss.
        """
        fused_levels = self.config.fused_levels
        if motion is not None and len(motion) != len(fused_levels):
            raise ValueError(
                f"`motion` must hold one entry per fused level {fused_levels}. Received: "
                f"{len(motion)} entries."
            )
        x = ops.cast(features, self.compute_dtype)
        scale_features = []
        for level in range(NUM_LEVELS):
            if level > 0:
                for layer in self.blocks[level - 1]:
                    x = layer(x)
            if level in fused_levels:
                position = fused_levels.index(level)
                if motion is not None:
                    x = self.fusions[position]([x, *motion[position]])
                if level < NUM_LEVELS - 1:
                    # A single-stream base map is concat(F, S): only F is a content feature.
                    scale_features.append(x[..., :self.config.base_width] if level == 0 else x)
        return x, scale_features

    def call(self, content_code, labels):
        _, features = self.content_state(content_code, labels)
        if self.single_stream:
            zeros = ops.zeros((*ops.shape(features)[:3], self.config.motion_channels),
                              dtype=features.dtype)
            features = ops.concatenate([features, zeros], axis=-1)
        return self.decode(features)[0]

    def get_config(self):
        return {**super().get_config(), "single_stream": self.single_stream}
