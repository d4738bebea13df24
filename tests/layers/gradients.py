"""Backend-agnostic gradients for tests (TensorFlow tape or jax.grad)."""

import keras
import numpy as np


def gradients(fn, inputs):
    """Returns d fn(*inputs) / d inputs as NumPy arrays, `fn` returning a scalar."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        variables = [tf.constant(x) for x in inputs]
        with tf.GradientTape() as tape:
            tape.watch(variables)
            value = fn(*variables)
        return [g.numpy() for g in tape.gradient(value, variables)]
    if backend == "jax":
        import jax

        grads = jax.grad(lambda args: fn(*args))([np.asarray(x) for x in inputs])
        return [np.asarray(g) for g in grads]
    raise NotImplementedError(f"gradients() supports tensorflow and jax, not {backend}")
