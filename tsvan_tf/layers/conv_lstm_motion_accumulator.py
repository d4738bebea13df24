"""A ConvLSTM that accumulates motion history, with a one-step API for autoregressive use."""

import keras
from keras import ops

INITIAL_STATES = ("ones", "zeros")


@keras.saving.register_keras_serializable(package="tsvan_tf")
class ConvLSTMMotionAccumulator(keras.layers.Layer):
    """A convolutional LSTM over `(batch, time, height, width, channels)` motion maps.

    One "same" convolution (with bias) maps `concat(x_t, h_{t-1})` to `4 * filters` channels,
    split in the order `(i, j, f, o)`; then

        c_t = c_{t-1} * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j)
        h_t = tanh(c_t) * sigmoid(o)

    The sequence call returns every `h_t`. `step` advances one time step from a given state and
    `get_initial_state` gives the starting state, so a generator can feed back its own outputs;
    stepping through a sequence gives exactly the sequence call's outputs.

    Differences from `keras.layers.ConvLSTM2D` (why it is not reused directly): Keras orders the
    gates `(i, f, c, o)` and uses an input kernel with a bias plus a recurrent kernel without one
    (this layer has one kernel over the concatenation, which is the same function with the two
    kernels stacked); Keras's `unit_forget_bias` only *initialises* the forget bias to 1, while
    `forget_bias` here is added at every step and is not trained (the original's behaviour, which
    differs once weight decay acts on the bias); Keras starts from zeros, the original from ones
    (`initial_state="ones"`, the default for parity); and Keras's cell is private, so it offers no
    public one-step API.

    Args:
        filters: number of hidden channels of `h` and `c`.
        kernel_size: side of the square convolution kernel; odd and >= 1. Defaults to 3.
        forget_bias: constant added to the forget gate's pre-activation at every step.
        initial_state: `"ones"` (the original's) or `"zeros"`: the state the sequence call starts
            from when no `initial_state` is passed to `call`.
        return_state: if True, the sequence call returns `(outputs, [h_T, c_T])`.
        kernel_initializer: initializer of the convolution kernel.
        bias_initializer: initializer of the convolution bias.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, time, height, width, channels)`.
        initial_state: optional `[h_0, c_0]`, each `(batch, height, width, filters)`.

    Input shape:
        `(batch, time, height, width, channels)`; height, width and channels must be known.

    Output shape:
        `(batch, time, height, width, filters)` (plus the final `[h, c]` if `return_state`).

    Example:

    >>> lstm = ConvLSTMMotionAccumulator(filters=16)
    >>> history = lstm(np.zeros((2, 5, 8, 8, 16), "float32"))     # (2, 5, 8, 8, 16)
    >>> state = lstm.get_initial_state(batch_size=2)
    >>> h, state = lstm.step(np.zeros((2, 8, 8, 16), "float32"), state)

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN: Improving Motion Modeling in Video Generation",
        WACV 2020, arXiv:1812.01037, Sec. 3.2 (the motion stream's ConvLSTM history).
    """

    def __init__(self, filters, kernel_size=3, forget_bias=1.0, initial_state="ones",
                 return_state=False, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"`filters` must be a positive integer. Received: filters={filters!r}")
        if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 \
                or kernel_size % 2 == 0:
            raise ValueError(
                "`kernel_size` must be an odd integer >= 1 (a 'same' convolution). "
                f"Received: kernel_size={kernel_size!r}"
            )
        if initial_state not in INITIAL_STATES:
            raise ValueError(
                f"`initial_state` must be one of {INITIAL_STATES}. "
                f"Received: initial_state={initial_state!r}"
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.forget_bias = float(forget_bias)
        self.initial_state = initial_state
        self.return_state = return_state
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.gates = keras.layers.Conv2D(
            4 * filters, kernel_size, padding="same",
            kernel_initializer=self.kernel_initializer, bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy, name="gates",
        )
        self.input_spec = keras.layers.InputSpec(ndim=5)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 5 or None in input_shape[2:]:
            raise ValueError(
                "ConvLSTMMotionAccumulator expects inputs of shape (batch, time, height, width, "
                f"channels) with known height, width and channels. Received: input_shape="
                f"{input_shape}"
            )
        self.spatial_shape = tuple(input_shape[2:4])
        self.input_channels = input_shape[4]
        self.gates.build((None, *self.spatial_shape, self.input_channels + self.filters))
        self.built = True

    def get_initial_state(self, batch_size):
        """Returns the starting state `[h_0, c_0]`, each `(batch_size, height, width, filters)`.

        Args:
            batch_size: a Python int or a scalar tensor.

        Returns:
            A list `[h_0, c_0]` of ones or zeros (per `initial_state`) in the compute dtype.
        """
        if not self.built:
            raise ValueError(
                "get_initial_state() needs the layer's spatial size: call the layer on a sequence "
                "or call build((batch, time, height, width, channels)) first."
            )
        fill = ops.ones if self.initial_state == "ones" else ops.zeros
        shape = (batch_size, *self.spatial_shape, self.filters)
        return [fill(shape, dtype=self.compute_dtype), fill(shape, dtype=self.compute_dtype)]

    def step(self, inputs, state):
        """Advances one time step.

        Args:
            inputs: `x_t`, `(batch, height, width, channels)`.
            state: `[h_{t-1}, c_{t-1}]`.

        Returns:
            `(h_t, [h_t, c_t])`.
        """
        h, c = state
        if not self.built:
            shape = tuple(inputs.shape)
            self.build((shape[0], 1, *shape[1:]))
        x = ops.cast(inputs, self.compute_dtype)
        z = self.gates(ops.concatenate([x, ops.cast(h, self.compute_dtype)], axis=-1))
        i, j, f, o = ops.split(z, 4, axis=-1)
        c = ops.cast(c, self.compute_dtype) * ops.sigmoid(f + self.forget_bias) \
            + ops.sigmoid(i) * ops.tanh(j)
        h = ops.tanh(c) * ops.sigmoid(o)
        return h, [h, c]

    def call(self, inputs, initial_state=None):
        state = initial_state if initial_state is not None \
            else self.get_initial_state(ops.shape(inputs)[0])
        time_steps = inputs.shape[1]
        if time_steps is not None:
            outputs = []
            for t in range(time_steps):
                h, state = self.step(inputs[:, t], state)
                outputs.append(h)
            sequence = ops.stack(outputs, axis=1)
        else:
            def body(carry, x_t):
                h, new_state = self.step(x_t, list(carry))
                return tuple(new_state), h

            final, sequence = ops.scan(body, tuple(state), ops.moveaxis(inputs, 1, 0))
            state = list(final)
            sequence = ops.moveaxis(sequence, 0, 1)
        if self.return_state:
            return sequence, state
        return sequence

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        output_shape = (*input_shape[:4], self.filters)
        if self.return_state:
            state_shape = (input_shape[0], *input_shape[2:4], self.filters)
            return output_shape, [state_shape, state_shape]
        return output_shape

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "forget_bias": self.forget_bias,
            "initial_state": self.initial_state,
            "return_state": self.return_state,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
