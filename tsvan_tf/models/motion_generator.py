"""The motion decoder: trajectory FC, ConvLSTM history, joint product and G_m (spec 2.5-2.7)."""

import keras
from keras import ops

from tsvan_tf.config import NUM_LEVELS
from tsvan_tf.layers import ConvLSTMMotionAccumulator
from tsvan_tf.models import _blocks


@keras.saving.register_keras_serializable(package="tsvan_tf")
class MotionGenerator(_blocks.ConfigSerialization, keras.Model):
    """Turns a motion code, the label, the content's `u` and the motion history into kernels.

    * Trajectory FC: `concat(z_m, trajectory_label_scale * onehot)` -> Dense + ReLU ->
      `(res/8, res/8, motion_channels)`.
    * ConvLSTM (`ConvLSTMMotionAccumulator`, 3x3, forget bias +1, initial state per
      `config.lstm_initial_state`): one look-ahead step from the history state gives `h`; that
      step's state is discarded (spec 3.3). `update_history` advances the history itself.
    * Joint product (`config.joint`): `v = ReLU(Dense(flatten(h)))`, `S = ReLU(Dense(flatten(u
      outer v)))` reshaped to `(res/8, res/8, motion_channels)`; without it (TwoStreamVAN(-C))
      `S = h`.
    * G_m: a trunk over the four pyramid levels (level 0: 3x3 transposed conv; others: 4x4
      stride-2 transposed conv; each followed by BN, ReLU, 3x3 conv, BN, ReLU) that slices
      `kernel_branch_channels[level]` channels off for the level's branch and passes the rest
      up. A branch (built only at fused levels) is a shared 3x3 conv + BN + ReLU and heads of
      3x3 conv + BN + ReLU + 3x3 conv: two linear `n`-tap heads (vertical, horizontal) in
      separable mode or one `n*n` head in full mode, and, with `use_mask`, a mask head ending
      in `(tanh + 1) / 2`. Every conv has a bias and every BN is on. With
      `config.identity_kernels` each kernel head's last conv starts at zero and a one is added
      at the centre tap, so the fusion starts as the identity.

    Args:
        config: a `ModelConfig`.
        single_stream: if True (the SGVAN baseline), G_m is not built: `motion_state` is the
            output and it is decoded by the content generator.
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        motion_code: `(batch, motion_dim)`.
        labels: `(batch,)` integer class labels.
        content_hidden: `u`, `(batch, content_hidden_dim)` from `ContentGenerator.content_state`.
        state: the history `[h, c]`, each `(batch, res/8, res/8, motion_channels)`.
        training: BatchNorm mode.

    Returns:
        One list of fusion inputs per fused level, coarse to fine: `[vertical, horizontal,
        mask]` (separable; each kernel `(batch, s, s, n)`) or `[kernels, mask]` (full; `(batch,
        s, s, n*n)`), with `mask` `(batch, s, s, 1)` in [0, 1] omitted when `use_mask=False`.

    Attributes:
        trajectory_layers: the trajectory FC and the ConvLSTM.
        joint_layers: `fc_motion` and `fc_comb` (empty without `joint`).
        kernel_layers: G_m, trunk and branches.

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN", WACV 2020, arXiv:1812.01037, Sec. 3.2 (motion
        generator, adaptive kernels and masks).
    """

    def __init__(self, config, single_stream=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(single_stream, bool):
            raise ValueError(f"`single_stream` must be a bool. Received: single_stream="
                             f"{single_stream!r}")
        self.config = config
        self.single_stream = single_stream
        dtype, mc = self.dtype_policy, config.motion_channels
        state_size = config.base_resolution ** 2 * mc
        self.trajectory = _blocks.dense(state_size, config.motion_dim + config.num_classes,
                                        dtype, "trajectory", activation="relu")
        self.lstm = ConvLSTMMotionAccumulator(
            mc, kernel_size=3, forget_bias=config.lstm_forget_bias,
            initial_state=config.lstm_initial_state,
            kernel_initializer=_blocks.xavier_initializer(),
            bias_initializer=_blocks.bias_initializer(2 * mc * 9), dtype=dtype, name="lstm")
        if config.joint:
            self.fc_motion = _blocks.dense(config.joint_dim, state_size, dtype, "fc_motion",
                                           activation="relu")
            self.fc_comb = _blocks.dense(state_size, config.content_hidden_dim * config.joint_dim,
                                         dtype, "fc_comb", activation="relu")
        self.trunk, self.branches = [], []
        if not single_stream:
            self._build_kernel_generator()
        self.build()

    def _build_kernel_generator(self):
        config, dtype = self.config, self.dtype_policy
        for level, width in enumerate(config.motion_decoder_widths):
            init = config.transpose_init
            up = (_blocks.conv2d_transpose(width, 3, dtype, f"trunk{level}_up", init=init)
                  if level == 0 else _blocks.conv2d_transpose(width, 4, dtype, f"trunk{level}_up",
                                                              strides=2, init=init))
            in_channels = config.motion_channels if level == 0 else (
                config.motion_decoder_widths[level - 1] - config.kernel_branch_channels[level - 1])
            self.trunk.append(keras.Sequential([
                keras.Input((None, None, in_channels)),
                up, _blocks.batch_norm(config, dtype, f"trunk{level}_norm0"),
                keras.layers.ReLU(dtype=dtype),
                _blocks.conv2d(width, 3, width, dtype, f"trunk{level}_conv"),
                _blocks.batch_norm(config, dtype, f"trunk{level}_norm1"),
                keras.layers.ReLU(dtype=dtype),
            ], name=f"trunk{level}"))
        bw, taps = config.kernel_branch_width, config.num_kernel_taps
        heads = ["vertical", "horizontal"] if config.kernel_mode == "separable" else ["kernels"]
        for level in config.fused_levels:
            branch = {"shared": self._conv_block(
                [(bw, True)], config.kernel_branch_channels[level], f"branch{level}_shared")}
            for head in heads:
                branch[head] = self._conv_block([(taps, True), (taps, False)], bw,
                                                f"branch{level}_{head}",
                                                zero_last=config.identity_kernels)
            if config.use_mask:
                branch["mask"] = self._conv_block([(bw, True), (1, False)], bw,
                                                  f"branch{level}_mask")
            self.branches.append(branch)

    def _conv_block(self, plan, in_channels, name, zero_last=False):
        """3x3 convs; `(filters, True)` adds BN + ReLU after the conv, `False` leaves it linear.
        `zero_last` initialises the last conv's kernel and bias to zero."""
        config, dtype = self.config, self.dtype_policy
        layers = [keras.Input((None, None, in_channels))]
        for index, (filters, normalize) in enumerate(plan):
            conv = _blocks.conv2d(filters, 3, in_channels, dtype, f"{name}_conv{index}")
            if zero_last and index == len(plan) - 1:
                conv.kernel_initializer = keras.initializers.Zeros()
                conv.bias_initializer = keras.initializers.Zeros()
            layers.append(conv)
            if normalize:
                layers += [_blocks.batch_norm(config, dtype, f"{name}_norm{index}"),
                           keras.layers.ReLU(dtype=dtype)]
            in_channels = filters
        return keras.Sequential(layers, name=name)

    def build(self, input_shape=None):
        config = self.config
        side, mc = config.base_resolution, config.motion_channels
        self.trajectory.build((None, config.motion_dim + config.num_classes))
        self.lstm.build((None, 1, side, side, mc))
        if config.joint:
            self.fc_motion.build((None, side * side * mc))
            self.fc_comb.build((None, config.content_hidden_dim * config.joint_dim))
        self.built = True

    @property
    def trajectory_layers(self):
        return [self.trajectory, self.lstm]

    @property
    def joint_layers(self):
        return [self.fc_motion, self.fc_comb] if self.config.joint else []

    @property
    def kernel_layers(self):
        return [*self.trunk, *(block for branch in self.branches for block in branch.values())]

    def initial_state(self, batch_size):
        """The history state before any motion: `[h_0, c_0]` (ones or zeros per the config)."""
        return self.lstm.get_initial_state(batch_size)

    def update_history(self, motion_map, state):
        """Advances the history by one observed motion map `m`; returns the new `[h, c]`."""
        return self.lstm.step(motion_map, state)[1]

    def joint_kernel(self):
        """`fc_comb`'s kernel in the compute dtype, for `motion_state`'s `joint_kernel`.

        A rollout casts it once and passes it to every step: under a mixed precision policy a
        `Dense` call would cast the kernel (33M weights at the Weizmann preset) at each step,
        and its gradient back to float32 at each step too. None without `config.joint`.
        """
        if not self.config.joint:
            return None
        return ops.cast(self.fc_comb.kernel, self.compute_dtype)

    def motion_state(self, motion_code, labels, content_hidden, state, joint_kernel=None):
        """Returns the motion state `S`, `(batch, res/8, res/8, motion_channels)` (spec 3.3).

        `joint_kernel`: the result of `joint_kernel()`, computed once per rollout; None casts
        `fc_comb`'s kernel here.
        """
        config = self.config
        side, mc = config.base_resolution, config.motion_channels
        label = _blocks.one_hot(labels, config.num_classes, self.compute_dtype)
        x = ops.concatenate([ops.cast(motion_code, self.compute_dtype),
                             label * config.trajectory_label_scale], axis=-1)
        x = ops.reshape(self.trajectory(x), (-1, side, side, mc))
        h, _ = self.lstm.step(x, state)
        if not config.joint:
            return h
        v = self.fc_motion(ops.reshape(h, (-1, side * side * mc)))
        u = ops.cast(content_hidden, self.compute_dtype)
        outer = ops.reshape(u[:, :, None] * v[:, None, :],
                            (-1, config.content_hidden_dim * config.joint_dim))
        if joint_kernel is None:
            joint_kernel = self.joint_kernel()
        combined = ops.matmul(outer, joint_kernel) + ops.cast(self.fc_comb.bias, outer.dtype)
        return ops.reshape(ops.relu(combined), (-1, side, side, mc))

    def kernels(self, motion_state, training=False):
        """G_m: returns the per-level fusion inputs (see the class docstring)."""
        config = self.config
        fused = config.fused_levels
        outputs = []
        x = motion_state
        for level, block in enumerate(self.trunk):
            x = block(x, training=training)
            split = config.kernel_branch_channels[level]
            if level in fused:
                branch = self.branches[fused.index(level)]
                shared = branch["shared"](x[..., :split], training=training)
                entry = [branch[head](shared, training=training) for head in branch
                         if head not in ("shared", "mask")]
                if config.identity_kernels:
                    centre = ops.one_hot(config.num_kernel_taps // 2, config.num_kernel_taps,
                                         dtype=entry[0].dtype)
                    entry = [kernel + centre for kernel in entry]
                if config.use_mask:
                    entry.append((ops.tanh(branch["mask"](shared, training=training)) + 1) / 2)
                outputs.append(entry)
            if level < NUM_LEVELS - 1:
                x = x[..., split:]
        return outputs

    def call(self, motion_code, labels, content_hidden, state, training=False):
        return self.kernels(self.motion_state(motion_code, labels, content_hidden, state),
                            training=training)

    def get_config(self):
        return {**super().get_config(), "single_stream": self.single_stream}
