"""`CoupledAdam`: Adam with coupled L2 weight decay, one fused kernel per variable on TensorFlow."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tsvan_tf")
class CoupledAdam(keras.optimizers.Adam):
    """Adam whose weight decay is added to the gradient (PyTorch `Adam(weight_decay=...)`).

    Each step uses `g + l2 * w` in place of the gradient `g`, before the moments are updated: the
    coupled L2 decay of the original TwoStreamVAN (spec 5). Keras's own `weight_decay` is decoupled
    (AdamW). Adding the decay here, after the gradients are reduced across replicas and unscaled
    by a `LossScaleOptimizer`, costs one multiply-add per weight; the same decay written as a loss
    term costs a square, a sum and its broadcast gradient per weight and step.

    On the TensorFlow backend the moment and weight updates of a variable run as one
    `ResourceApplyAdam` kernel, whose formula is Keras's (`alpha = lr * sqrt(1 - beta_2^t) /
    (1 - beta_1^t)`), instead of about ten element-wise ops that each stream the variable through
    memory; this matters for the 33M-weight joint-product layer. Other backends, and `amsgrad`,
    use Keras's update.

    Args:
        learning_rate: as `keras.optimizers.Adam`.
        l2: the coupled decay coefficient (`0` gives plain Adam).
        beta_1, beta_2, epsilon, amsgrad: as `keras.optimizers.Adam`.
        **kwargs: the other `keras.optimizers.Optimizer` arguments (`name`, `clipnorm`, ...).
    """

    def __init__(self, learning_rate=0.001, l2=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        if l2 < 0:
            raise ValueError(f"`l2` must be >= 0; received l2={l2}.")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, **kwargs)
        self.l2 = l2

    def update_step(self, gradient, variable, learning_rate):
        """Applies one coupled-decay Adam update of `variable` from `gradient`."""
        gradient = ops.cast(gradient, variable.dtype)
        if self.l2:
            gradient = ops.add(gradient, ops.multiply(ops.cast(self.l2, variable.dtype),
                                                      variable))
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            super().update_step(gradient, variable, learning_rate)
            return
        import tensorflow as tf

        dtype = variable.dtype
        local_step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), local_step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), local_step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
            grad=gradient, use_locking=False, use_nesterov=False)

    def get_config(self):
        config = super().get_config()
        config["l2"] = self.l2
        return config
