"""E_c: the content encoder and its class-conditional sampler (spec 2.1)."""

import keras
from keras import ops

from tsvan_tf.models import _blocks


@keras.saving.register_keras_serializable(package="tsvan_tf")
class ContentEncoder(_blocks.ConfigSerialization, keras.Model):
    """Encodes a frame and its class into the posterior of the content code.

    Six bias-free 3x3 convolutions with ReLU (three of them stride 2) bring the frame to a
    `(resolution/8, resolution/8, g)` map; a Dense layer with ReLU gives `content_hidden_dim`
    features; the sampler concatenates the one-hot label and predicts the posterior mean and
    log-variance with two Dense layers. No BatchNorm (the original never enables it here).

    Args:
        config: a `ModelConfig`.
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        images: `(batch, resolution, resolution, 3)` frames in [-1, 1].
        labels: `(batch,)` integer class labels.

    Returns:
        `(mean, log_var)`, each `(batch, content_dim)`.

    Attributes:
        feature_layers: the convolutions and the FC layer (E_c proper).
        sampler_layers: the mean and log-variance Dense layers (the original's `contSampler`).

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN", WACV 2020, arXiv:1812.01037, Sec. 3.1 (content stream).
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        g = config.base_width
        plan = ((g, 1), (g, 2), (g, 1), (2 * g, 2), (2 * g, 1), (g, 2))
        self.convs = []
        in_channels = 3
        for index, (filters, strides) in enumerate(plan):
            self.convs.append(_blocks.conv2d(
                filters, 3, in_channels, self.dtype_policy, f"conv{index}", strides=strides,
                use_bias=False, activation="relu"))
            in_channels = filters
        flat = config.base_resolution ** 2 * g
        self.hidden = _blocks.dense(config.content_hidden_dim, flat, self.dtype_policy, "hidden",
                                    activation="relu")
        sampler_in = config.content_hidden_dim + config.num_classes
        self.mean_layer = _blocks.dense(config.content_dim, sampler_in, self.dtype_policy, "mean")
        self.log_var_layer = _blocks.dense(config.content_dim, sampler_in, self.dtype_policy,
                                           "log_var")
        self.build()

    def build(self, input_shape=None):
        shape = (None, self.config.resolution, self.config.resolution, 3)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        self.hidden.build((None, shape[1] * shape[2] * shape[3]))
        sampler_in = (None, self.config.content_hidden_dim + self.config.num_classes)
        self.mean_layer.build(sampler_in)
        self.log_var_layer.build(sampler_in)
        self.built = True

    @property
    def feature_layers(self):
        return [*self.convs, self.hidden]

    @property
    def sampler_layers(self):
        return [self.mean_layer, self.log_var_layer]

    def call(self, images, labels):
        x = ops.cast(images, self.compute_dtype)
        for conv in self.convs:
            x = conv(x)
        x = self.hidden(ops.reshape(x, (ops.shape(x)[0], -1)))
        x = ops.concatenate(
            [x, _blocks.one_hot(labels, self.config.num_classes, self.compute_dtype)], axis=-1)
        return self.mean_layer(x), self.log_var_layer(x)
