"""Private building blocks shared by the models: PyTorch-equivalent initialisation and layers.

Initialisation follows spec section 2.11: Conv2d/Conv3d/Linear kernels Xavier-uniform with gain
sqrt(2), biases PyTorch's default U(+-1/sqrt(fan_in)), ConvTranspose2d kernels PyTorch's default
kaiming-uniform(a=sqrt(5)) (bound 1/sqrt(fan_in) with PyTorch's transposed fan_in = out*k*k, which
is Keras's fan_in of a `Conv2DTranspose` kernel), BatchNorm gamma=1, beta=0.
"""

import math

import keras
from keras import ops

from tsvan_tf.config import ModelConfig


def xavier_initializer():
    """Xavier-uniform with gain sqrt(2): `VarianceScaling(2, "fan_avg", "uniform")`."""
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform")


def transpose_initializer(kind="pytorch"):
    """A `Conv2DTranspose` kernel initializer (`ModelConfig.transpose_init`).

    `"pytorch"`: PyTorch's ConvTranspose2d default, U(+-1/sqrt(fan_in)) with Keras's transposed
    fan_in `k*k*out`, i.e. `VarianceScaling(1/3, fan_in)`. `"he"`: He-uniform over `k*k*in`
    (Keras's `fan_out` of a transposed kernel), `VarianceScaling(2, fan_out)`.
    """
    if kind == "he":
        return keras.initializers.VarianceScaling(scale=2.0, mode="fan_out",
                                                  distribution="uniform")
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in",
                                              distribution="uniform")


def bias_initializer(fan_in):
    """PyTorch's default bias initialisation, U(+-1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def conv2d(filters, kernel_size, in_channels, dtype, name, strides=1, use_bias=True,
           activation=None):
    """A "same" `Conv2D` initialised as PyTorch's `Conv2d` under the original's Initializer."""
    return keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=use_bias,
        activation=activation, kernel_initializer=xavier_initializer(),
        bias_initializer=bias_initializer(in_channels * kernel_size ** 2),
        dtype=dtype, name=name,
    )


def conv2d_transpose(filters, kernel_size, dtype, name, strides=1, use_bias=True,
                     activation=None, init="pytorch"):
    """A "same" `Conv2DTranspose`, kernel initialised per `init` (see `transpose_initializer`),
    bias as PyTorch's default `ConvTranspose2d`."""
    return keras.layers.Conv2DTranspose(
        filters, kernel_size, strides=strides, padding="same", use_bias=use_bias,
        activation=activation, kernel_initializer=transpose_initializer(init),
        bias_initializer=bias_initializer(filters * kernel_size ** 2),
        dtype=dtype, name=name,
    )


def dense(units, in_features, dtype, name, activation=None):
    """A `Dense` layer initialised as PyTorch's `Linear` under the original's Initializer."""
    return keras.layers.Dense(
        units, activation=activation, kernel_initializer=xavier_initializer(),
        bias_initializer=bias_initializer(in_features), dtype=dtype, name=name,
    )


def batch_norm(config, dtype, name):
    """BatchNorm with PyTorch's defaults (momentum 0.1 there = 0.9 here, epsilon 1e-5)."""
    return keras.layers.BatchNormalization(
        momentum=config.batch_norm_momentum, epsilon=config.batch_norm_epsilon,
        dtype=dtype, name=name,
    )


def one_hot(labels, num_classes, dtype):
    """One-hot class vectors `(batch, num_classes)` from integer labels `(batch,)`."""
    return ops.one_hot(ops.cast(labels, "int32"), num_classes, dtype=dtype)


def count_params(layers):
    """Number of trainable parameters of `layers` (BatchNorm moving statistics excluded)."""
    return sum(int(math.prod(v.shape)) for layer in layers for v in layer.trainable_weights)


def concrete_value(x):
    """Returns `x` as a NumPy array, or None for a symbolic tensor (tf.function, jax.jit)."""
    try:
        return ops.convert_to_numpy(x)
    except Exception:  # noqa: BLE001 - each backend raises its own type for symbolic tensors
        return None


class ConfigSerialization:
    """`get_config`/`from_config` for models built from a `ModelConfig` (mix in before
    `keras.Model`); a subclass with more constructor arguments adds them to `get_config`."""

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(ModelConfig.from_dict(config.pop("config")), **config)
