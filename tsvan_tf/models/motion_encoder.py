"""E_m: the motion encoder of frame differences and its class-conditional sampler (spec 2.4)."""

import keras
from keras import ops

from tsvan_tf.models import _blocks


@keras.saving.register_keras_serializable(package="tsvan_tf")
class MotionEncoder(_blocks.ConfigSerialization, keras.Model):
    """Encodes a frame difference into a motion map and the posterior of the motion code.

    Three blocks of two convolutions (with bias) + BatchNorm + ReLU, each followed by a 2x2
    max-pool, give the motion map `m` of shape `(resolution/8, resolution/8, motion_channels)`
    (widths w, w | 2w, 2w | 2w, motion_channels with w = `motion_encoder_width`; kernels 5, 5 |
    5, 5 | 7, 7). `m` feeds the ConvLSTM history. The FC head (Dense + BatchNorm + ReLU,
    `motion_hidden_dim`) and the sampler (concat one-hot, two Dense layers) give the posterior.

    Args:
        config: a `ModelConfig`.
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        differences: `(batch, resolution, resolution, 3)` frame differences (previous - next,
            times `config.diff_scale`).
        labels: `(batch,)` integer class labels.
        training: BatchNorm mode.

    Returns:
        `(motion_map, mean, log_var)`: `(batch, resolution/8, resolution/8, motion_channels)`
        and two `(batch, motion_dim)`.

    Attributes:
        feature_layers: convolutions, BatchNorms and the FC head (E_m proper).
        sampler_layers: the mean and log-variance Dense layers (the original's `motionSampler`).

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN", WACV 2020, arXiv:1812.01037, Sec. 3.2 (motion stream).
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        w, dtype = config.motion_encoder_width, self.dtype_policy
        plan = (((w, 5), (w, 5)), ((2 * w, 5), (2 * w, 5)),
                ((2 * w, 7), (config.motion_channels, 7)))
        self.convs, self.norms = [], []
        in_channels = 3
        for block, layers in enumerate(plan):
            for index, (filters, kernel) in enumerate(layers):
                self.convs.append(_blocks.conv2d(filters, kernel, in_channels, dtype,
                                                 f"conv{block}_{index}"))
                self.norms.append(_blocks.batch_norm(config, dtype, f"norm{block}_{index}"))
                in_channels = filters
        self.pool = keras.layers.MaxPooling2D(2, dtype=dtype, name="pool")
        flat = config.base_resolution ** 2 * config.motion_channels
        self.hidden = _blocks.dense(config.motion_hidden_dim, flat, dtype, "hidden")
        self.hidden_norm = _blocks.batch_norm(config, dtype, "hidden_norm")
        sampler_in = config.motion_hidden_dim + config.num_classes
        self.mean_layer = _blocks.dense(config.motion_dim, sampler_in, dtype, "mean")
        self.log_var_layer = _blocks.dense(config.motion_dim, sampler_in, dtype, "log_var")
        self.build()

    def build(self, input_shape=None):
        config = self.config
        side, in_channels = config.resolution, 3
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            conv.build((None, side, side, in_channels))
            norm.build((None, side, side, conv.filters))
            in_channels = conv.filters
            if index % 2:
                side //= 2
        self.hidden.build((None, config.base_resolution ** 2 * config.motion_channels))
        self.hidden_norm.build((None, config.motion_hidden_dim))
        sampler_in = (None, config.motion_hidden_dim + config.num_classes)
        self.mean_layer.build(sampler_in)
        self.log_var_layer.build(sampler_in)
        self.built = True

    @property
    def feature_layers(self):
        return [*self.convs, *self.norms, self.hidden, self.hidden_norm]

    @property
    def sampler_layers(self):
        return [self.mean_layer, self.log_var_layer]

    def motion_map(self, differences, training=False):
        """The convolutional trunk only: returns `m`, `(batch, res/8, res/8, motion_channels)`."""
        x = ops.cast(differences, self.compute_dtype)
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = ops.relu(norm(conv(x), training=training))
            if index % 2:
                x = self.pool(x)
        return x

    def posterior(self, motion_map, labels, training=False):
        """The FC head and sampler: returns `(mean, log_var)`, each `(batch, motion_dim)`."""
        x = ops.reshape(motion_map, (ops.shape(motion_map)[0], -1))
        x = ops.relu(self.hidden_norm(self.hidden(x), training=training))
        x = ops.concatenate(
            [x, _blocks.one_hot(labels, self.config.num_classes, self.compute_dtype)], axis=-1)
        return self.mean_layer(x), self.log_var_layer(x)

    def call(self, differences, labels, training=False):
        motion_map = self.motion_map(differences, training=training)
        mean, log_var = self.posterior(motion_map, labels, training=training)
        return motion_map, mean, log_var
