"""TwoStreamVAN: the two generator streams composed, with generation and training forwards."""

import math

import keras
import numpy as np
from keras import ops

from tsvan_tf.config import ModelConfig
from tsvan_tf.models import _blocks
from tsvan_tf.models.content_encoder import ContentEncoder
from tsvan_tf.models.content_generator import ContentGenerator
from tsvan_tf.models.motion_encoder import MotionEncoder
from tsvan_tf.models.motion_generator import MotionGenerator


def _stack(tensors):
    """Concatenates on the batch axis (one tensor passes through)."""
    return tensors[0] if len(tensors) == 1 else ops.concatenate(tensors, axis=0)


def _unstack(tensor, count):
    """Splits the batch axis into `count` equal parts (the inverse of `_stack`)."""
    return [tensor] if count == 1 else ops.split(tensor, count, axis=0)


def _pick_component(noise, size):
    """Picks a mixture component from N(0, I) noise, which stays N(0, I).

    The first entry's normal CDF value `u` gives the component `floor(u * size)`; the fractional
    part of `u * size`, mapped back through the inverse normal CDF, replaces that entry.

    Args:
        noise: `(batch, dim)` N(0, I).
        size: the number of components.

    Returns:
        `(index, noise)`: `(batch,)` int32 components, and the noise with its first entry
        re-drawn.
    """
    position = 0.5 * (1.0 + ops.erf(noise[:, 0] / math.sqrt(2.0))) * size
    index = ops.clip(ops.cast(ops.floor(position), "int32"), 0, size - 1)
    fraction = ops.clip(position - ops.cast(index, position.dtype), 1e-6, 1.0 - 1e-6)
    first = math.sqrt(2.0) * ops.erfinv(2.0 * fraction - 1.0)
    return index, ops.concatenate([first[:, None], noise[:, 1:]], axis=1)


def _gather_clips(table, clips):
    """`table[class, clip]` for each `(class, clip)` row of `clips` `(batch, 2)`."""
    size = table.shape[1]
    flat = ops.reshape(table, (-1, *tuple(table.shape[2:])))
    return ops.take(flat, clips[:, 0] * size + clips[:, 1], axis=0)


def _check_shape(name, tensor, expected):
    """Raises if `tensor`'s static shape disagrees with `expected` (None = any)."""
    shape = tuple(tensor.shape)
    if len(shape) != len(expected) or any(
            e is not None and s is not None and s != e for s, e in zip(shape, expected)):
        raise ValueError(f"`{name}` must have shape {expected} (None = any). Received: "
                         f"{name}.shape={shape}")
    return shape


@keras.saving.register_keras_serializable(package="tsvan_tf")
class TwoStreamVAN(_blocks.ConfigSerialization, keras.Model):
    """Action-conditioned video generator with separate content and motion streams.

    Composes `ContentEncoder` (E_c), `ContentGenerator` (content head + G_c), `MotionEncoder`
    (E_m) and `MotionGenerator` (trajectory FC, ConvLSTM, joint product, G_m). Frame t+1 is
    made from frame t (spec 3.3): its posterior content mean is decoded by G_c while the motion
    stream's per-pixel kernels and masks warp G_c's features at the fused scales; the ConvLSTM
    history then observes E_m of the frame difference `(previous - next) * diff_scale`. The
    same `diff_scale` applies to real and generated differences (the original halves only the
    real ones). The discriminators are separate models. No training code lives here: the
    trainer calls the training forwards and applies the losses of `tsvan_tf.losses`.

    Args:
        config: a `ModelConfig` (variants: `joint=False` is TwoStreamVAN(-C), `use_mask=False`
            TwoStreamVAN(-M); `num_scales`, `kernel_size`, `kernel_mode` for the ablations).
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[labels, content_noise, motion_noise]`, as `generate`.

    Returns:
        The generated video, as `generate`.

    Example:

    >>> model = TwoStreamVAN.from_preset("synthetic")
    >>> labels = np.arange(4) % model.config.num_classes
    >>> content = np.random.normal(size=(4, model.config.content_dim)).astype("float32")
    >>> motion = np.random.normal(size=(4, model.config.motion_noise_steps,
    ...                                 model.config.motion_dim)).astype("float32")
    >>> model.generate(labels, content, motion).shape   # (4, 8, 32, 32, 3)

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN: Improving Motion Modeling in Video Generation",
        WACV 2020, arXiv:1812.01037.
    """

    single_stream = False

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = ModelConfig.from_dict(config)
        if not isinstance(config, ModelConfig):
            raise ValueError(f"`config` must be a ModelConfig. Received: config={config!r}")
        self.config = config
        dtype = self.dtype_policy
        self.content_encoder = ContentEncoder(config, dtype=dtype, name="content_encoder")
        self.content_generator = ContentGenerator(config, single_stream=self.single_stream,
                                                  dtype=dtype, name="content_generator")
        self.motion_encoder = MotionEncoder(config, dtype=dtype, name="motion_encoder")
        self.motion_generator = MotionGenerator(config, single_stream=self.single_stream,
                                                dtype=dtype, name="motion_generator")
        if config.content_prior == "aggregate_posterior":
            shape = (config.content_prior_size, config.content_dim)
            # Zero means and log-variances: N(0, I) until `set_content_prior` fills them.
            self.content_prior_mean = self.add_weight(
                shape=shape, initializer="zeros", trainable=False, name="content_prior_mean")
            self.content_prior_log_var = self.add_weight(
                shape=shape, initializer="zeros", trainable=False, name="content_prior_log_var")
        if config.motion_prior == "aggregate_posterior":
            shape = (config.num_classes, config.motion_prior_size, config.motion_noise_steps,
                     config.motion_dim)
            # Zero means and log-variances: N(0, I) until `set_motion_prior` fills them.
            self.motion_prior_mean = self.add_weight(
                shape=shape, initializer="zeros", trainable=False, name="motion_prior_mean")
            self.motion_prior_log_var = self.add_weight(
                shape=shape, initializer="zeros", trainable=False, name="motion_prior_log_var")
        self.built = True

    @classmethod
    def from_preset(cls, preset, **overrides):
        """Builds the architecture of a `ModelConfig` preset with fresh weights.

        Args:
            preset: `"weizmann"`, `"mug"`, `"synaction"` or `"synthetic"`.
            **overrides: `ModelConfig` fields replacing the preset's.
        """
        return cls(ModelConfig.from_preset(preset, **overrides))

    # --- Parameter groups of the four generator optimizers (spec 4) ---

    @property
    def content_encoder_variables(self):
        """E_c convs, FC and sampler."""
        return self.content_encoder.trainable_variables

    @property
    def content_decoder_variables(self):
        """The content head (both Dense layers) and G_c."""
        return self.content_generator.trainable_variables

    @property
    def motion_encoder_variables(self):
        """E_m and its sampler."""
        return self.motion_encoder.trainable_variables

    @property
    def motion_decoder_variables(self):
        """Trajectory FC, ConvLSTM, the joint Dense layers and G_m."""
        return self.motion_generator.trainable_variables

    # --- The content prior ---

    def content_code(self, content_noise):
        """Maps N(0, I) content noise to a content code under `config.content_prior`.

        With `"standard_normal"` the noise is the code. With `"aggregate_posterior"` the
        first noise entry picks a mixture component `i` (its normal CDF value `u` gives
        `i = floor(u * size)`), the fractional part of `u * size`, mapped back through the
        inverse normal CDF, replaces that entry by an independent N(0, 1) draw, and the code is
        `mean_i + exp(log_var_i / 2) * noise`. Deterministic given the noise.

        Args:
            content_noise: `(batch, content_dim)` N(0, I) noise.

        Returns:
            `(batch, content_dim)` content codes.
        """
        if self.config.content_prior == "standard_normal":
            return content_noise
        noise = ops.cast(content_noise, self.content_prior_mean.dtype)
        index, noise = _pick_component(noise, self.config.content_prior_size)
        mean = ops.take(self.content_prior_mean, index, axis=0)
        log_var = ops.take(self.content_prior_log_var, index, axis=0)
        return ops.cast(mean + ops.exp(0.5 * log_var) * noise, content_noise.dtype)

    def set_content_prior(self, mean, log_var):
        """Stores the `"aggregate_posterior"` mixture: the content posteriors of training frames.

        Args:
            mean, log_var: `(content_prior_size, content_dim)` arrays, E_c's posterior of
                `content_prior_size` training frames (see `encode_content`).

        Raises:
            ValueError: the model's `content_prior` is not `"aggregate_posterior"`, or a shape
                differs.
        """
        self._store_prior("content", mean, log_var, "content_prior_size, content_dim")

    # --- The motion prior ---

    def motion_code(self, labels, motion_noise):
        """Maps N(0, I) motion noise to the motion codes of `generate` (`config.motion_prior`).

        With `"standard_normal"` the noise is the code. With `"aggregate_posterior"` the
        first entry of step 0 picks one of the label's `motion_prior_size` stored clips (as
        `content_code` picks a component, and is re-drawn the same way), and step `s` is
        `mean[label, i, s] + exp(log_var[label, i, s] / 2) * noise[:, s]`: the clip's motion
        posteriors, one per difference. Steps past the stored `motion_noise_steps` repeat
        them from the start. Deterministic given the inputs.

        Args:
            labels: `(batch,)` integer labels.
            motion_noise: `(batch, steps, motion_dim)` N(0, I) noise.

        Returns:
            `(batch, steps, motion_dim)` motion codes.
        """
        if self.config.motion_prior == "standard_normal":
            return motion_noise
        noise = ops.cast(motion_noise, self.motion_prior_mean.dtype)
        index, first = _pick_component(noise[:, 0], self.config.motion_prior_size)
        noise = ops.concatenate([first[:, None], noise[:, 1:]], axis=1)
        clips = ops.stack([ops.cast(labels, "int32"), index], axis=1)
        # Works with a dynamic number of steps (the SavedModel's frame loop).
        stored_step = ops.mod(ops.arange(ops.shape(motion_noise)[1]),
                              self.config.motion_noise_steps)
        mean, log_var = (ops.take(_gather_clips(table, clips), stored_step, axis=1)
                         for table in (self.motion_prior_mean, self.motion_prior_log_var))
        return ops.cast(mean + ops.exp(0.5 * log_var) * noise, motion_noise.dtype)

    def encode_motion(self, videos, labels):
        """E_m's posterior of every difference of `videos` (inference-mode BatchNorm).

        Args:
            videos: `(batch, T, res, res, 3)` clips, T >= 2.
            labels: `(batch,)` integer labels.

        Returns:
            `(mean, log_var)`, each `(batch, T - 1, motion_dim)`.
        """
        self._check_videos(videos, minimum_frames=2)
        _, means, log_vars = self._encode_differences(self._differences(videos), labels,
                                                      training=False)
        return means, log_vars

    def set_motion_prior(self, mean, log_var):
        """Stores the `"aggregate_posterior"` motion prior: the posteriors of training clips.

        Args:
            mean, log_var: `(num_classes, motion_prior_size, motion_noise_steps, motion_dim)`
                arrays: per class, E_m's posterior of every difference of its stored clips
                (see `encode_motion`; a clip of `motion_noise_steps + 1` frames).

        Raises:
            ValueError: the model's `motion_prior` is not `"aggregate_posterior"`, or a shape
                differs.
        """
        self._store_prior("motion", mean, log_var,
                          "num_classes, motion_prior_size, motion_noise_steps, motion_dim")

    def _store_prior(self, stream, mean, log_var, layout):
        """Checks and assigns the `"aggregate_posterior"` prior weights of `stream`."""
        prior = getattr(self.config, f"{stream}_prior")
        if prior != "aggregate_posterior":
            raise ValueError(f"This model samples {stream} from its {prior!r} prior; only "
                             f"{stream}_prior='aggregate_posterior' stores one.")
        weights = (getattr(self, f"{stream}_prior_mean"), getattr(self, f"{stream}_prior_log_var"))
        expected = tuple(weights[0].shape)
        for name, value in (("mean", mean), ("log_var", log_var)):
            if tuple(np.shape(value)) != expected:
                raise ValueError(f"`{name}` must have shape {expected} ({layout}). Received: "
                                 f"{name}.shape={tuple(np.shape(value))}")
        for weight, value in zip(weights, (mean, log_var)):
            weight.assign(ops.cast(value, weight.dtype))

    # --- Building blocks (spec 3.3) ---

    def encode_content(self, images, labels):
        """E_c: returns the content posterior `(mean, log_var)`, each `(batch, content_dim)`."""
        return self.content_encoder(images, labels)

    def decode_content(self, content_code, labels):
        """Content-only decoding: returns `(frame, scale_features)` (no motion, no fusion)."""
        _, features = self.content_generator.content_state(content_code, labels)
        return self.content_generator.decode(features)

    def predict_frame(self, previous, labels, motion_code, state, training=False,
                      joint_kernel=None):
        """One generation step (spec 3.3): the frame after `previous`.

        Args:
            previous: `(batch, res, res, 3)`, the frame the content comes from.
            labels: `(batch,)` integer labels.
            motion_code: `(batch, motion_dim)`.
            state: the motion history `[h, c]`.
            training: BatchNorm mode of the motion stream.
            joint_kernel: `motion_generator.joint_kernel()`, cast once by a caller that
                predicts many frames; None casts it here.

        Returns:
            `(frame, scale_features)`: the next frame and G_c's fused maps below full
            resolution, coarse to fine.
        """
        return self.predict_frames(previous, labels, [motion_code], state, training,
                                   joint_kernel)[0]

    def predict_frames(self, previous, labels, motion_codes, state, training=False,
                       joint_kernel=None):
        """`predict_frame` for several motion codes from the same frame and history.

        The content is encoded once, and the motion state's layers (trajectory FC, ConvLSTM
        step, joint product; none normalises) run once on all codes stacked on the batch axis,
        which gives each weight one gradient instead of a sum of several. G_m runs per code,
        so its BatchNorm statistics stay those of separate calls.

        Args:
            previous, labels, state, training, joint_kernel: as `predict_frame`.
            motion_codes: a list of `(batch, motion_dim)` codes.

        Returns:
            One `(frame, scale_features)` per code, as `predict_frame`.
        """
        mean, _ = self.content_encoder(previous, labels)
        hidden, features = self.content_generator.content_state(mean, labels)
        count = len(motion_codes)
        motion_states = self.motion_generator.motion_state(
            _stack(motion_codes), _stack([labels] * count), _stack([hidden] * count),
            [_stack([s] * count) for s in state], joint_kernel)
        return [self.decode_motion(features, s, training)
                for s in _unstack(motion_states, count)]

    def decode_motion(self, features, motion_state, training=False):
        """G_c's decoding of the content state `F`, fused with G_m's kernels of `S`.

        Returns:
            `(frame, scale_features)`, as `predict_frame`.
        """
        motion = self.motion_generator.kernels(motion_state, training=training)
        return self.content_generator.decode(features, motion)

    def observe_motion(self, previous, current, state, training=False):
        """Advances the motion history by E_m's map of `(previous - current) * diff_scale`."""
        difference = (previous - current) * self.config.diff_scale
        return self.motion_generator.update_history(
            self.motion_encoder.motion_map(difference, training=training), state)

    # --- Test-time generation (spec 3.4) ---

    def generate(self, labels, content_noise, motion_noise):
        """Generates videos from labels and noise; deterministic given its inputs.

        Frame 0 decodes the content noise without motion; each motion-noise step then predicts
        the next frame (spec 3.3) and the history observes the generated difference; the first
        `config.warmup_frames` frames are dropped. A Python loop over the static number of
        steps, so it traces once per input shape under `tf.function` or `jax.jit`.

        Args:
            labels: `(batch,)` integer class labels in `[0, num_classes)`.
            content_noise: `(batch, content_dim)` N(0, I), mapped to the content code by
                `content_code`.
            motion_noise: `(batch, steps, motion_dim)` N(0, I) with `steps >= warmup_frames`,
                mapped to motion codes by `motion_code`; the video
                has `steps + 1 - warmup_frames` frames (`config.motion_noise_steps` gives
                `config.frames`).

        Returns:
            `(batch, steps + 1 - warmup_frames, res, res, 3)`, nominally in [-1, 1] (not clipped).
        """
        config = self.config
        batch = _check_shape("labels", labels, (None,))[0]
        _check_shape("content_noise", content_noise, (batch, config.content_dim))
        steps = _check_shape("motion_noise", motion_noise, (batch, None, config.motion_dim))[1]
        if steps is None or steps < max(config.warmup_frames, 1):
            raise ValueError(
                f"`motion_noise` needs at least max(warmup_frames, 1) = "
                f"{max(config.warmup_frames, 1)} steps (time axis 1) to give a frame. Received: "
                f"motion_noise.shape={tuple(motion_noise.shape)}"
            )
        self._check_labels(labels)
        frames = [self.decode_content(self.content_code(content_noise), labels)[0]]
        state = self.motion_generator.initial_state(ops.shape(frames[0])[0])
        joint_kernel = self.motion_generator.joint_kernel()
        motion_codes = self.motion_code(labels, motion_noise)
        for step in range(steps):
            if step > 0:
                state = self.observe_motion(frames[-2], frames[-1], state)
            frames.append(self.predict_frame(frames[-1], labels, motion_codes[:, step], state,
                                             joint_kernel=joint_kernel)[0])
        return ops.stack(frames[config.warmup_frames:], axis=1)

    def call(self, inputs):
        labels, content_noise, motion_noise = inputs
        return self.generate(labels, content_noise, motion_noise)

    # --- Training forwards (spec 3.5) ---

    def content_forward(self, videos, labels, frame_index, content_noise, prior_noise,
                        training=True):
        """The content task: reconstruct one frame and decode a prior sample.

        Args:
            videos: `(batch, T, res, res, 3)` real clips.
            labels: `(batch,)` integer labels.
            frame_index: scalar int tensor in `[0, T - 2]`, the frame for the whole batch.
            content_noise: `(batch, content_dim)` N(0, I), reparameterises the posterior.
            prior_noise: `(batch, content_dim)` N(0, I), mapped by `content_code` to the
                prior code of `x_p`.
            training: unused by the content stream (no BatchNorm); kept for a uniform API.

        Returns:
            A dict: `target` (the real frame `(batch, res, res, 3)`), `x_tilde` (its
            reconstruction), `x_p` (the prior sample), `prior_code` (its code),
            `content_mean` and `content_log_var` (`(batch, content_dim)`).
        """
        del training
        self._check_videos(videos, minimum_frames=2)
        target = ops.take(videos, frame_index, axis=1)
        mean, log_var = self.content_encoder(target, labels)
        code = mean + ops.exp(0.5 * log_var) * ops.cast(content_noise, mean.dtype)
        prior_code = self.content_code(prior_noise)
        return {
            "target": target,
            "x_tilde": self.decode_content(code, labels)[0],
            "x_p": self.decode_content(prior_code, labels)[0],
            "prior_code": prior_code,
            "content_mean": mean,
            "content_log_var": log_var,
        }

    def prediction_forward(self, videos, labels, timestep, motion_noise, prior_motion_noise,
                           training=True, self_feed=False):
        """The next-frame prediction task: predict frame `t` from frame `t - 1` and the history.

        The history runs the ConvLSTM from its initial state over `m(d_0) ... m(d_{t-2})`
        (computed for every step and masked, so `timestep` can be a tensor without retracing);
        the posterior motion code sees `d_{t-1}`, the difference to the target.

        Args:
            videos: `(batch, T, res, res, 3)` real clips, T >= 3.
            labels: `(batch,)` integer labels.
            timestep: scalar int tensor `t` in `[1, T - 2]`, shared by the batch.
            motion_noise: `(batch, motion_dim)` N(0, I), reparameterises the posterior.
            prior_motion_noise: `(batch, motion_dim)`, the prior motion code of `x_p`.
            training: BatchNorm mode of the motion stream.
            self_feed: where `t >= 2`, the frame predictions start from is the model's own
                prediction of frame `t - 1` (from the real frame `t - 2`, the history before
                it and the posterior mean of `d_{t-2}`; inference mode, no gradient), as in
                generation, instead of the real frame `t - 1`.

        Returns:
            A dict: `previous` (the frame the predictions start from: the real frame `t - 1`,
            or its own prediction under `self_feed`), `target` (the real frame `t`), `x_tilde`
            (predicted with the posterior code), `x_p` (with the prior code), `motion_mean` and
            `motion_log_var` (`(batch, motion_dim)`), `x_tilde_scale_features` (G_c's fused maps
            of `x_tilde`) and `target_scale_features` (G_c's unfused maps of the target's
            posterior mean; the loss stops their gradient), lists coarse to fine, and
            `target_decoding` (G_c's decoding of the target's posterior mean: frame `t` as
            the content autoencoder reconstructs it).
        """
        time = self._check_videos(videos, minimum_frames=3)
        # t <= T - 2, so d_{T-2} is never observed.
        differences = self._differences(videos)[:, :time - 2]
        maps, means, log_vars = self._encode_differences(differences, labels, training)
        state = self.motion_generator.initial_state(ops.shape(videos)[0])
        earlier_state = state
        for step in range(time - 2):
            updated = self.motion_generator.update_history(maps[step], state)
            keep = ops.less(step, timestep - 1)
            if self_feed:  # the history before frame t - 2
                earlier_state = [ops.where(ops.less(step, timestep - 2), new, old)
                                 for new, old in zip(updated, earlier_state)]
            state = [ops.where(keep, new, old) for new, old in zip(updated, state)]
        mean = ops.take(means, timestep - 1, axis=1)
        log_var = ops.take(log_vars, timestep - 1, axis=1)
        code = mean + ops.exp(0.5 * log_var) * ops.cast(motion_noise, mean.dtype)
        previous = ops.take(videos, timestep - 1, axis=1)
        if self_feed:
            earlier = ops.take(videos, ops.maximum(timestep - 2, 0), axis=1)
            earlier_code = ops.take(means, ops.maximum(timestep - 2, 0), axis=1)
            fed = ops.stop_gradient(self.predict_frame(earlier, labels, earlier_code,
                                                       earlier_state, training=False)[0])
            previous = ops.where(ops.greater_equal(timestep, 2),
                                 ops.cast(fed, previous.dtype), previous)
        target = ops.take(videos, timestep, axis=1)
        (x_tilde, tilde_features), (x_p, _) = self.predict_frames(
            previous, labels, [code, prior_motion_noise], state, training)
        target_mean, _ = self.content_encoder(target, labels)
        target_decoding, target_features = self.decode_content(target_mean, labels)
        return {
            "previous": previous,
            "target": target,
            "x_tilde": x_tilde,
            "x_p": x_p,
            "motion_mean": mean,
            "motion_log_var": log_var,
            "x_tilde_scale_features": tilde_features,
            "target_scale_features": target_features,
            "target_decoding": target_decoding,
        }

    def video_forward(self, videos, labels, motion_noise, prior_motion_noise, content_coins,
                      history_coins, training=True):
        """The video task: two autoregressive passes with scheduled sampling.

        Frame 0 of both passes is `G_c(mu_c(x_0))`. At step s (predicting frame s + 1) the
        content comes from the real `x_s` where `content_coins[., s]` is true, else from the
        last generated frame; for s > 0 the history observes the real `d_{s-1}` where
        `history_coins[., s]` is true, else the generated difference. The `x_tilde` pass uses
        posterior motion codes `q(z | d_s, k)`, the `x_p` pass the prior noise. Gradients flow
        through the whole clip (BPTT, through E_c into earlier generated frames).

        Args:
            videos: `(batch, T, res, res, 3)` real clips, T >= 2.
            labels: `(batch,)` integer labels.
            motion_noise: `(batch, T - 1, motion_dim)` N(0, I), reparameterises the posteriors.
            prior_motion_noise: `(batch, T - 1, motion_dim)`, the prior codes of `x_p`.
            content_coins: bool `(2, T - 1)`, row 0 for the `x_tilde` pass, row 1 for `x_p`:
                true = take the content from the real frame (one Bernoulli(eps) per step).
            history_coins: bool `(2, T - 1)`, same rows: true = observe the real difference
                (column 0 is unused).
            training: BatchNorm mode of the motion stream.

        Returns:
            A dict: `video_tilde` and `video_p` (`(batch, T, res, res, 3)`), `motion_mean` and
            `motion_log_var` (`(batch, T - 1, motion_dim)`), `video_tilde_scale_features`
            (G_c's fused maps of the `x_tilde` pass, each `(batch, T - 1, h, w, c)`) and
            `target_scale_features` (unfused maps of frames 1..T-1 decoded from their posterior
            means, same shapes), lists coarse to fine.
        """
        time = self._check_videos(videos, minimum_frames=2)
        for name, coins in (("content_coins", content_coins), ("history_coins", history_coins)):
            _check_shape(name, coins, (2, time - 1))
        differences = self._differences(videos)
        maps, means, log_vars = self._encode_differences(differences, labels, training)
        posterior = means + ops.exp(0.5 * log_vars) * ops.cast(motion_noise, means.dtype)
        first_mean, _ = self.content_encoder(videos[:, 0], labels)
        first = self.decode_content(first_mean, labels)[0]
        # The two passes advance side by side: the layers without BatchNorm (the ConvLSTM, E_c,
        # the content head, the motion state) run once on both passes stacked on the batch axis;
        # E_m and G_m, which normalise, run per pass.
        codes = (posterior, prior_motion_noise)
        both_labels = _stack([labels, labels])
        frames, tilde_features = ([first], [first]), []
        state = self.motion_generator.initial_state(2 * ops.shape(videos)[0])
        joint_kernel = self.motion_generator.joint_kernel()
        for step in range(time - 1):
            if step > 0:
                observed = []
                for row in range(2):
                    generated = self.motion_encoder.motion_map(
                        (frames[row][-2] - frames[row][-1]) * self.config.diff_scale,
                        training=training)
                    observed.append(ops.where(history_coins[row, step], maps[step - 1],
                                              generated))
                state = self.motion_generator.update_history(_stack(observed), state)
            sources = [ops.where(content_coins[row, step], videos[:, step], frames[row][-1])
                       for row in range(2)]
            mean, _ = self.content_encoder(_stack(sources), both_labels)
            hidden, features = self.content_generator.content_state(mean, both_labels)
            motion_states = self.motion_generator.motion_state(
                _stack([code[:, step] for code in codes]), both_labels, hidden, state,
                joint_kernel)
            for row, (content, motion) in enumerate(zip(_unstack(features, 2),
                                                        _unstack(motion_states, 2))):
                frame, scale_features = self.decode_motion(content, motion, training)
                frames[row].append(frame)
                if row == 0:
                    tilde_features.append(scale_features)
        video_tilde, video_p = (ops.stack(f, axis=1) for f in frames)
        targets = ops.reshape(videos[:, 1:], (-1, *tuple(videos.shape[2:])))
        target_labels = ops.reshape(
            ops.repeat(ops.expand_dims(labels, 1), time - 1, axis=1), (-1,))
        target_mean, _ = self.content_encoder(targets, target_labels)
        target_features = [
            ops.reshape(f, (-1, time - 1, *tuple(f.shape[1:])))
            for f in self.decode_content(target_mean, target_labels)[1]
        ]
        return {
            "video_tilde": video_tilde,
            "video_p": video_p,
            "motion_mean": means,
            "motion_log_var": log_vars,
            "video_tilde_scale_features": [
                ops.stack([step[i] for step in tilde_features], axis=1)
                for i in range(len(target_features))
            ],
            "target_scale_features": target_features,
        }

    # --- Helpers ---

    def _differences(self, videos):
        """`d_s = (x_s - x_{s+1}) * diff_scale` for s = 0..T-2: `(batch, T - 1, res, res, 3)`."""
        return (videos[:, :-1] - videos[:, 1:]) * self.config.diff_scale

    def _encode_differences(self, differences, labels, training):
        """E_m on each difference (one call per step, batch statistics per step as original).

        Returns:
            The list of motion maps, and the posterior means and log-variances stacked to
            `(batch, steps, motion_dim)`, one step per difference given.
        """
        maps, means, log_vars = [], [], []
        for step in range(differences.shape[1]):
            motion_map, mean, log_var = self.motion_encoder(differences[:, step], labels,
                                                            training=training)
            maps.append(motion_map)
            means.append(mean)
            log_vars.append(log_var)
        return maps, ops.stack(means, axis=1), ops.stack(log_vars, axis=1)

    def _check_videos(self, videos, minimum_frames):
        res = self.config.resolution
        time = _check_shape("videos", videos, (None, None, res, res, 3))[1]
        if time is None or time < minimum_frames:
            raise ValueError(
                f"`videos` needs a static time axis of at least {minimum_frames} frames. "
                f"Received: videos.shape={tuple(videos.shape)}"
            )
        return time

    def _check_labels(self, labels):
        values = _blocks.concrete_value(labels)
        if values is not None and values.size and (
                values.min() < 0 or values.max() >= self.config.num_classes):
            raise ValueError(
                f"`labels` must lie in [0, {self.config.num_classes}). Received: labels with "
                f"min {values.min()} and max {values.max()}"
            )
