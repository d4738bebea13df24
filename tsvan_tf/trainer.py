"""Training TwoStreamVAN: one `tf.function` step per phase, under a `tf.distribute` strategy.

The training tasks of spec 3.5 are **phases as data**: each `Phase` names its loss function, the
optimizers its three losses feed (encoder, decoder, discriminator) and the equilibrium margin
that gates them. One iteration:

1. draws the phase, the frame index, the scheduled-sampling coins and a noise seed on the host
   (a NumPy generator seeded by `(seed, step)`, so a resumed run draws what an uninterrupted one
   would, and nothing retraces: every draw enters the step as a tensor);
2. runs the phase's per-replica gradient function (XLA-compiled, one tape, all gradients at the
   same weights) through `strategy.run`, each replica's losses scaled by its share of the global
   batch;
3. checks every loss is finite (stopping with the step and the loss name otherwise, before any
   weight changes), evaluates the equilibrium gate on the replica-averaged costs and applies the
   optimizers the gate allows.

Checkpoints (`tf.train.CheckpointManager`: the generator, both discriminators, all six
optimizers and the step) are written every `checkpoint_every` steps, at the end and on SIGTERM;
re-running the same command resumes from the latest one.
"""

import dataclasses
import functools
import json
import os
import signal
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tsvan_tf import losses
from tsvan_tf import media
from tsvan_tf import schedules
from tsvan_tf.layers.adaptive_conv_ops import compiled_with_xla
from tsvan_tf.models import ImageDiscriminator
from tsvan_tf.models import SingleStreamVAN
from tsvan_tf.models import TwoStreamVAN
from tsvan_tf.models import VideoDiscriminator
from tsvan_tf.optimizers import CoupledAdam
from tsvan_tf.progress import ProgressBar
from tsvan_tf.trained_model import BEST_CHECKPOINT_SUBDIR
from tsvan_tf.trained_model import CONFIG_FILE
from tsvan_tf.trained_model import build_generator
from tsvan_tf.trained_model import variables_trackable

OPTIMIZER_NAMES = ("content_encoder", "content_decoder", "motion_encoder", "motion_decoder",
                   "image_discriminator", "video_discriminator")
LOSS_LOG_FILE = "losses.jsonl"


class TrainingError(RuntimeError):
    """A training run that cannot start or go on; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Phase:
    """One training task.

    Attributes:
        name: `"pretrain"`, `"content"`, `"prediction"` or `"video"`.
        loss_fn: `loss_fn(models, videos, labels, draws, loss_config) -> (terms, role_losses,
            real_cost, fake_cost)`: `terms` are scalars to log, `role_losses` maps `"encoder"`,
            `"decoder"` and `"discriminator"` to the loss each optimizer minimises.
        optimizers: `{role: optimizer name}`; a phase without a discriminator omits it.
        margin: the `LossConfig` field of the equilibrium margin, or None (no gating).
    """

    name: str
    loss_fn: object
    optimizers: dict
    margin: str = None


@dataclasses.dataclass
class Models:
    """The networks a run trains."""

    generator: keras.Model
    image_discriminator: keras.Model
    video_discriminator: keras.Model

    def variables_of(self, optimizer_name):
        """The trainable variables optimizer `optimizer_name` owns."""
        generator_groups = {
            "content_encoder": "content_encoder_variables",
            "content_decoder": "content_decoder_variables",
            "motion_encoder": "motion_encoder_variables",
            "motion_decoder": "motion_decoder_variables",
        }
        if optimizer_name in generator_groups:
            return getattr(self.generator, generator_groups[optimizer_name])
        return getattr(self, optimizer_name).trainable_variables


# --- The phases' losses (spec section 4) ---

def _adversarial_terms(real_logits, tilde_logits, prior_logits):
    """BCE terms of one discriminator on the real data and the two generated passes."""
    return {
        "real": losses.discriminator_real_loss(real_logits),
        "fake_tilde": losses.discriminator_fake_loss(tilde_logits),
        "fake_prior": losses.discriminator_fake_loss(prior_logits),
        "generator_tilde": losses.generator_adversarial_loss(tilde_logits),
        "generator_prior": losses.generator_adversarial_loss(prior_logits),
    }


def _image_adversarial_terms(models, real, tilde, prior):
    """`_adversarial_terms` of D_I, called separately on each batch (BatchNorm never mixes
    real and generated statistics)."""
    return _adversarial_terms(*(models.image_discriminator(x, training=True)
                                for x in (real, tilde, prior)))


def _content_terms(models, videos, labels, draws, loss_config, with_discriminator):
    out = models.generator.content_forward(
        videos, labels, draws["frame_index"], draws["content_noise"],
        draws["prior_content_noise"], training=True)
    reconstruction = losses.reconstruction_loss(out["x_tilde"], out["target"])
    kl = losses.kl_divergence(out["content_mean"], out["content_log_var"])
    weight = loss_config.reconstruction_weight
    terms = {"reconstruction": reconstruction, "kl": kl}
    shared = weight * reconstruction
    if loss_config.content_cycle_weight:
        again, _ = models.generator.encode_content(out["x_p"], labels)
        terms["cycle"] = tf.reduce_mean(tf.square(
            tf.cast(again, tf.float32) - tf.cast(out["prior_code"], tf.float32)))
        shared = shared + loss_config.content_cycle_weight * terms["cycle"]
    roles = {"encoder": draws["content_kl_weight"] * kl + shared, "decoder": shared}
    if not with_discriminator:
        return terms, roles, None, None
    rho = loss_config.prior_sample_weight
    d = _image_adversarial_terms(models, out["target"], out["x_tilde"], out["x_p"])
    real_cost = d["real"]
    adversarial = d["generator_tilde"] + rho * d["generator_prior"]
    roles["decoder"] = roles["decoder"] + loss_config.image_adversarial_weight * adversarial
    roles["discriminator"] = d["fake_tilde"] + rho * d["fake_prior"] + real_cost
    fake_cost = (2.0 * (1.0 - rho) * d["fake_tilde"] + 2.0 * rho * d["fake_prior"]) / 2.0
    terms.update(adversarial=adversarial, d_real=real_cost, d_fake=fake_cost)
    return terms, roles, real_cost, fake_cost


def pretrain_losses(models, videos, labels, draws, loss_config):
    """Content pre-training (iterations < P): reconstruction and KL, no discriminator."""
    return _content_terms(models, videos, labels, draws, loss_config, with_discriminator=False)


def content_losses(models, videos, labels, draws, loss_config):
    """The content task: one frame reconstructed, one prior sample, D_I on both."""
    return _content_terms(models, videos, labels, draws, loss_config, with_discriminator=True)


def content_decoded_clips(generator, videos, labels):
    """Every frame of `videos` replaced by G_c's decoding of its posterior mean, no gradient."""
    frames = tf.reshape(videos, (-1, *videos.shape[2:]))
    frame_labels = tf.repeat(labels, tf.shape(videos)[1])
    mean, _ = generator.encode_content(frames, frame_labels)
    decoded = generator.decode_content(mean, frame_labels)[0]
    return tf.stop_gradient(tf.reshape(tf.cast(decoded, videos.dtype), tf.shape(videos)))


def prediction_losses(models, videos, labels, draws, loss_config):
    """The next-frame prediction task (image level), D_I on both predictions."""
    if loss_config.prediction_inputs == "content_decoding":
        videos = content_decoded_clips(models.generator, videos, labels)
    out = models.generator.prediction_forward(
        videos, labels, draws["timestep"], draws["motion_noise"][:, 0],
        draws["prior_motion_noise"][:, 0], training=True,
        self_feed=loss_config.prediction_self_feed)
    target = out["target"] if loss_config.prediction_target == "frame" \
        else tf.stop_gradient(out["target_decoding"])
    reconstruction = losses.reconstruction_loss(out["x_tilde"], target)
    kl = losses.kl_divergence(out["motion_mean"], out["motion_log_var"])
    features = losses.feature_matching_loss(out["x_tilde_scale_features"],
                                            out["target_scale_features"])
    d = _image_adversarial_terms(models, out["target"], out["x_tilde"], out["x_p"])
    real_cost, fake_tilde, fake_prior = d["real"], d["fake_tilde"], d["fake_prior"]
    adversarial = d["generator_tilde"] + d["generator_prior"]
    shared = loss_config.reconstruction_weight * reconstruction \
        + loss_config.prediction_feature_weight * features
    terms = {"reconstruction": reconstruction}
    if loss_config.prediction_prior_reconstruction_weight:
        terms["prior_reconstruction"] = losses.reconstruction_loss(out["x_p"], target)
        shared = shared + loss_config.reconstruction_weight \
            * loss_config.prediction_prior_reconstruction_weight * terms["prior_reconstruction"]
    roles = {
        "encoder": loss_config.prediction_kl_weight * kl + shared,
        "decoder": shared + loss_config.prediction_adversarial_weight * adversarial,
        "discriminator": fake_tilde + fake_prior + real_cost,
    }
    fake_cost = (fake_tilde + fake_prior) / 2.0
    terms.update(kl=kl, features=features, adversarial=adversarial, d_real=real_cost,
                 d_fake=fake_cost)
    return terms, roles, real_cost, fake_cost


def video_losses(models, videos, labels, draws, loss_config):
    """The video task: two scheduled-sampling passes, D_V with its class head."""
    out = models.generator.video_forward(
        videos, labels, draws["motion_noise"], draws["prior_motion_noise"],
        draws["content_coins"], draws["history_coins"], training=True)
    reconstruction = losses.reconstruction_loss(out["video_tilde"], videos)
    kl = losses.kl_divergence(out["motion_mean"], out["motion_log_var"])
    features = losses.feature_matching_loss(out["video_tilde_scale_features"],
                                            out["target_scale_features"])
    real_logits, real_classes = models.video_discriminator(videos, training=True)
    tilde_logits, tilde_classes = models.video_discriminator(out["video_tilde"], training=True)
    prior_logits, prior_classes = models.video_discriminator(out["video_p"], training=True)
    d = _adversarial_terms(real_logits, tilde_logits, prior_logits)
    real_cost, fake_tilde, fake_prior = d["real"], d["fake_tilde"], d["fake_prior"]
    adversarial = d["generator_tilde"] + d["generator_prior"]
    generated_classes = losses.classification_loss(tilde_classes, labels) \
        + losses.classification_loss(prior_classes, labels)
    real_classes_loss = losses.classification_loss(real_classes, labels)
    shared = loss_config.reconstruction_weight * reconstruction \
        + loss_config.video_feature_weight * features
    roles = {
        "encoder": draws["video_kl_weight"] * kl + shared,
        "decoder": shared + loss_config.video_adversarial_weight * adversarial
        + loss_config.video_class_weight * generated_classes,
        "discriminator": fake_tilde + fake_prior + real_cost
        + loss_config.video_class_weight * real_classes_loss,
    }
    fake_cost = (fake_tilde + fake_prior) / 2.0
    terms = {"reconstruction": reconstruction, "kl": kl, "features": features,
             "adversarial": adversarial, "classes": generated_classes,
             "d_classes": real_classes_loss, "d_real": real_cost, "d_fake": fake_cost}
    return terms, roles, real_cost, fake_cost


PHASES = {
    "pretrain": Phase("pretrain", pretrain_losses,
                      {"encoder": "content_encoder", "decoder": "content_decoder"}),
    "content": Phase("content", content_losses,
                     {"encoder": "content_encoder", "decoder": "content_decoder",
                      "discriminator": "image_discriminator"}, margin="content_margin"),
    "prediction": Phase("prediction", prediction_losses,
                        {"encoder": "motion_encoder", "decoder": "motion_decoder",
                         "discriminator": "image_discriminator"}, margin="prediction_margin"),
    "video": Phase("video", video_losses,
                   {"encoder": "motion_encoder", "decoder": "motion_decoder",
                    "discriminator": "video_discriminator"}, margin="video_margin"),
}


def choose_phase(step, rng, loss_config):
    """The task of iteration `step` (spec 5): pre-training, then content / prediction / video.

    Args:
        step: the iteration.
        rng: a NumPy generator (two uniform draws are taken after pre-training).
        loss_config: the schedules' settings.

    Returns:
        A key of `PHASES`.
    """
    if step < loss_config.pretrain_steps:
        return "pretrain"
    r_content, r_video = rng.uniform(size=2)
    if r_content < float(schedules.content_task_probability(step, loss_config)):
        return "content"
    if r_video < float(schedules.video_task_probability(step, loss_config)):
        return "video"
    return "prediction"


def draw_step_randoms(step, seed, model_config, loss_config):
    """Every random choice of iteration `step`, from a generator seeded by `(seed, step)`.

    Returns:
        `(phase_name, draws)`: `draws` holds the host-side choices as NumPy values (frame
        index, timestep, coins, noise seed) and the step's schedule weights.
    """
    rng = np.random.default_rng([seed, step])
    phase = choose_phase(step, rng, loss_config)
    frames = model_config.frames
    epsilon = float(schedules.scheduled_sampling_probability(step, loss_config))
    draws = {
        "frame_index": np.int32(rng.integers(0, frames - 1)),
        "timestep": np.int32(rng.integers(1, frames - 1)),
        "content_coins": rng.uniform(size=(2, frames - 1)) < epsilon,
        "history_coins": rng.uniform(size=(2, frames - 1)) < epsilon,
        "noise_seed": rng.integers(0, 2 ** 31 - 1, size=2).astype(np.int32),
        "content_kl_weight": np.float32(schedules.content_kl_weight(step, loss_config)),
        "video_kl_weight": np.float32(schedules.video_kl_weight(step, loss_config)),
    }
    return phase, draws


def _global_noise(seed, global_batch, shape, replica_id, local_batch, offset):
    """Noise for this replica's slice of the global batch: the same values whatever the split."""
    noise = tf.random.stateless_normal((global_batch, *shape), seed=seed + offset)
    return noise[replica_id * local_batch:(replica_id + 1) * local_batch]


class Trainer:
    """Builds the models and optimizers under a strategy and runs the training loop.

    Args:
        model_config: the architecture (`ModelConfig`).
        loss_config: loss weights and schedules (`LossConfig`).
        train_config: the run (`TrainConfig`).
        model_dir: where checkpoints, samples, logs and `config.json` go.
        single_stream: train the single-generator baseline instead of TwoStreamVAN.
        strategy: a `tf.distribute.Strategy`; defaults to the one `train_config.strategy` names.
        log_stream: where progress goes (stderr by default).
    """

    def __init__(self, model_config, loss_config, train_config, model_dir, single_stream=False,
                 strategy=None, log_stream=None):
        self.model_config = model_config
        self.loss_config = loss_config
        self.train_config = train_config
        self.model_dir = model_dir
        self.single_stream = single_stream
        self.log_stream = log_stream or sys.stderr
        configure_threads(train_config)
        if train_config.mixed_precision != "float32":
            keras.mixed_precision.set_global_policy(train_config.mixed_precision)
        self.strategy = strategy or create_strategy(train_config.strategy)
        self.num_replicas = self.strategy.num_replicas_in_sync
        if train_config.batch_size % self.num_replicas:
            raise TrainingError(
                f"batch_size={train_config.batch_size} must be divisible by the number of "
                f"replicas ({self.num_replicas}).")
        self.local_batch = train_config.batch_size // self.num_replicas
        xla_allowed = not (self.num_replicas > 1 and train_config.sync_batch_norm)
        self.xla_phases = set(train_config.xla_phases) if xla_allowed else set()
        self.is_chief = _is_chief(self.strategy)
        with self.strategy.scope():
            keras.utils.set_random_seed(train_config.seed)
            generator_class = SingleStreamVAN if single_stream else TwoStreamVAN
            self.models = Models(
                generator=generator_class(model_config, name="generator"),
                image_discriminator=ImageDiscriminator(model_config, name="image_discriminator"),
                video_discriminator=VideoDiscriminator(model_config, name="video_discriminator"),
            )
            self._build_models()
            if self.num_replicas > 1 and train_config.sync_batch_norm:
                _synchronize_batch_norm(self.models)
            self.optimizers = {name: self._make_optimizer(name) for name in OPTIMIZER_NAMES}
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.checkpoint = tf.train.Checkpoint(
            step=self.step, generator=variables_trackable(self.models.generator),
            image_discriminator=variables_trackable(self.models.image_discriminator),
            video_discriminator=variables_trackable(self.models.video_discriminator),
            **{f"{name}_optimizer": optimizer for name, optimizer in self.optimizers.items()})
        self._gradient_functions = {}
        self._apply_functions = {}
        self.evaluator = None
        self.content_prior_frames = None
        self._encode_content = None
        self.motion_prior_clips = None
        self._encode_motion = None

    # --- Construction ---

    def _build_models(self):
        config = self.model_config
        build_generator(self.models.generator, config)
        videos = np.zeros((1, config.frames, config.resolution, config.resolution, 3), "float32")
        self.models.image_discriminator(videos[:, 0], training=False)
        self.models.video_discriminator(videos, training=False)

    def _make_optimizer(self, name):
        config = self.train_config
        optimizer = CoupledAdam(config.learning_rate, l2=config.weight_decay,
                                beta_1=config.beta_1, beta_2=config.beta_2, name=name)
        if config.mixed_precision == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=name)
        optimizer.build(self.models.variables_of(name))
        return optimizer

    # --- One step ---

    def _replica_gradients(self, phase, videos, labels, draws):
        """Per replica: the phase's losses and each role's gradients, from one tape."""
        config = self.model_config
        context = tf.distribute.get_replica_context()
        replica_id = tf.cast(context.replica_id_in_sync_group, tf.int32)
        seed = tf.cast(draws["noise_seed"], tf.int32)
        noise_args = (self.train_config.batch_size, replica_id, self.local_batch)
        draws = dict(draws)
        steps = config.frames - 1
        draws["content_noise"] = _global_noise(seed, noise_args[0], (config.content_dim,),
                                               *noise_args[1:], offset=0)
        draws["prior_content_noise"] = _global_noise(seed, noise_args[0], (config.content_dim,),
                                                     *noise_args[1:], offset=1)
        draws["motion_noise"] = _global_noise(seed, noise_args[0], (steps, config.motion_dim),
                                              *noise_args[1:], offset=2)
        draws["prior_motion_noise"] = _global_noise(
            seed, noise_args[0], (steps, config.motion_dim), *noise_args[1:], offset=3)
        share = self.local_batch / self.train_config.batch_size
        with tf.GradientTape(persistent=True) as tape:
            terms, roles, real_cost, fake_cost = phase.loss_fn(
                self.models, videos, labels, draws, self.loss_config)
            scaled = {}
            for role, optimizer_name in phase.optimizers.items():
                # This replica's share of the global-batch mean (gradients are summed); the
                # coupled L2 decay is added to the summed gradients by `CoupledAdam`.
                loss = tf.cast(roles[role], tf.float32) * share
                optimizer = self.optimizers[optimizer_name]
                scaled[role] = optimizer.scale_loss(loss) \
                    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else loss
        gradients = {role: tape.gradient(scaled[role],
                                         self.models.variables_of(phase.optimizers[role]))
                     for role in phase.optimizers}
        del tape
        reported = {f"{phase.name}/{k}": tf.cast(v, tf.float32) * share for k, v in terms.items()}
        reported.update({f"{phase.name}/{role}": tf.cast(roles[role], tf.float32) * share
                         for role in roles})
        costs = tf.stack([tf.cast(real_cost, tf.float32) * share,
                          tf.cast(fake_cost, tf.float32) * share]) \
            if real_cost is not None else tf.zeros((2,), tf.float32)
        return reported, costs, gradients

    def _gradient_function(self, phase_name):
        if phase_name not in self._gradient_functions:
            phase = PHASES[phase_name]
            fusion_xla = self.train_config.xla_fusion and phase_name not in self.xla_phases

            def replica_fn(videos, labels, draws):
                with compiled_with_xla(fusion_xla):
                    return self._replica_gradients(phase, videos, labels, draws)

            if phase_name in self.xla_phases:
                compiled = tf.function(replica_fn, jit_compile=True)

                def replica_fn(videos, labels, draws):
                    # XLA runs on the device of the replica's variables (a known XLA issue).
                    device = tf.distribute.get_replica_context().devices[0]
                    with tf.device(device[0] if isinstance(device, (list, tuple)) else device):
                        return compiled(videos, labels, draws)

            @tf.function
            def step_fn(batch, draws):
                reported, costs, gradients = self.strategy.run(
                    replica_fn, args=(batch["video"], batch["label"], draws))
                reduce = lambda x: self.strategy.reduce("SUM", x, axis=None)  # noqa: E731
                return ({k: reduce(v) for k, v in reported.items()}, reduce(costs), gradients)

            self._gradient_functions[phase_name] = step_fn
        return self._gradient_functions[phase_name]

    def _apply_function(self, phase_name, roles):
        key = (phase_name, roles)
        if key not in self._apply_functions:
            phase = PHASES[phase_name]

            def replica_apply(gradients):
                for role in roles:
                    name = phase.optimizers[role]
                    # A gradient handed back from the previous function carries no device
                    # under MultiWorkerMirroredStrategy; the cross-worker reduction needs one.
                    grads = [tf.identity(g) for g in gradients[role]]
                    self.optimizers[name].apply(grads, self.models.variables_of(name))

            @tf.function
            def apply_fn(gradients):
                self.strategy.run(replica_apply, args=(gradients,))

            self._apply_functions[key] = apply_fn
        return self._apply_functions[key]

    def train_step(self, batch, step, phase_name=None):
        """Runs iteration `step` on a distributed batch.

        Args:
            batch: `{"video", "label"}` from the distributed dataset (or plain tensors under the
                default strategy).
            step: the iteration; seeds its random choices and schedules.
            phase_name: force a phase (tests, benchmarks) instead of drawing it.

        Returns:
            `(phase_name, losses)`: host floats of the phase's losses, plus `gate/decoder` and
            `gate/discriminator` (1 when that update ran).

        Raises:
            TrainingError: a loss is NaN or infinite (no weight was changed).
        """
        drawn_phase, host_draws = draw_step_randoms(step, self.train_config.seed,
                                                    self.model_config, self.loss_config)
        phase_name = phase_name or drawn_phase
        draws = {k: tf.constant(v) for k, v in host_draws.items()}
        reported, costs, gradients = self._gradient_function(phase_name)(batch, draws)
        values = {k: float(v) for k, v in reported.items()}
        for name, value in values.items():
            if not np.isfinite(value):
                raise TrainingError(
                    f"Loss {name!r} is {value} at step {step}: training stopped before applying "
                    f"this step, so no weight was changed. The last checkpoint in "
                    f"{self.model_dir} is intact; lower the learning rate or check the data, "
                    f"then re-run the same command to resume from it.")
        phase = PHASES[phase_name]
        roles = ["encoder", "decoder"]
        if phase.margin is not None:
            real_cost, fake_cost = (float(c) for c in costs)
            update_d, update_decoder = losses.equilibrium_gate(
                real_cost, fake_cost, self.loss_config.equilibrium,
                getattr(self.loss_config, phase.margin))
            update_d, update_decoder = bool(update_d), bool(update_decoder)
            roles = ["encoder"] + (["decoder"] if update_decoder else []) \
                + (["discriminator"] if update_d else [])
            values["gate/decoder"] = float(update_decoder)
            values["gate/discriminator"] = float(update_d)
        self._apply_function(phase_name, tuple(roles))(gradients)
        return phase_name, values

    # --- The loop ---

    def train(self, dataset):
        """Trains until `total_steps`, resuming from the latest checkpoint in `model_dir`.

        Args:
            dataset: a `tf.data.Dataset` of `{"video": (global_batch, T, H, W, 3) float32,
                "label": (global_batch,) int32}` batches, repeated.

        Returns:
            The step reached.
        """
        config = self.train_config
        manager = self._checkpoint_manager()
        start = int(self.step.numpy())
        if start >= config.total_steps:
            self._print(f"Training is already complete in {self.model_dir} (step {start} of "
                        f"total_steps={config.total_steps}); nothing to do. Raise "
                        f"--total_steps to train further.")
            return start
        self._print(f"{'Resuming' if start else 'Starting'} training at step {start} of "
                    f"{config.total_steps} on {self.num_replicas} replica(s), XLA for "
                    f"{sorted(self.xla_phases) or 'no phase'}"
                    f"{' (and the fusion)' if config.xla_fusion else ''}, TensorFlow threads: "
                    f"{_pool_size(tf.config.threading.get_intra_op_parallelism_threads())} "
                    f"per op, {_pool_size(tf.config.threading.get_inter_op_parallelism_threads())}"
                    f" ops at once, model_dir={self.model_dir}")
        loss_log = LossLog(os.path.join(self.model_dir, LOSS_LOG_FILE), self.is_chief)
        loss_log.truncate_after(start)
        writer = tf.summary.create_file_writer(os.path.join(self.model_dir, "tensorboard")) \
            if self.is_chief else tf.summary.create_noop_writer()
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        bar = ProgressBar(config.total_steps, "train", initial=start, stream=self.log_stream)
        stop = _SignalFlag(signal.SIGTERM)
        step = start
        try:
            with stop:
                while step < config.total_steps:
                    phase_name, values = self.train_step(next(iterator), step)
                    step += 1
                    self.step.assign(step)
                    bar.update(step, {k.split("/", 1)[1]: v for k, v in values.items()
                                      if k.endswith(("/decoder", "/reconstruction"))
                                      and not k.startswith("gate")})
                    if step % config.log_every == 0 or step == config.total_steps:
                        loss_log.append(step, phase_name, values)
                        with writer.as_default(step=step):
                            for name, value in values.items():
                                tf.summary.scalar(name, value)
                    if self._priors_due(step):
                        if self.content_prior_frames is not None:
                            self.refresh_content_prior()
                        if self.motion_prior_clips is not None:
                            self.refresh_motion_prior()
                    if step % config.checkpoint_every == 0 or step == config.total_steps:
                        self._save(manager, step)
                    if step % config.sample_every == 0 or step == config.total_steps:
                        self.write_samples(step, writer, loss_log)
                    if self.evaluator and (step % config.eval_every == 0
                                           or step == config.total_steps):
                        self.evaluate(step, writer)
                    if stop.received:
                        self._save(manager, step)
                        bar.close()
                        raise Preempted(
                            f"Received SIGTERM: saved a checkpoint at step {step} in "
                            f"{self.model_dir}. Re-run the same command to resume.")
        finally:
            writer.flush()
        bar.close()
        self._print(f"Training complete at step {step}. Samples: "
                    f"{os.path.join(self.model_dir, 'samples')}")
        return step

    def _checkpoint_manager(self):
        """Restores the latest checkpoint (on every worker) and returns the saving manager.

        Under multi-worker training every worker saves (the save is collective) but only the
        chief into `model_dir`; the others write to a scratch folder deleted after each save.
        """
        directory = os.path.join(self.model_dir, "checkpoints")
        latest = tf.train.latest_checkpoint(directory)
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        if not self.is_chief:
            directory = os.path.join(self.model_dir, "checkpoints-worker",
                                     str(self.strategy.cluster_resolver.task_id))
        return tf.train.CheckpointManager(self.checkpoint, directory,
                                          max_to_keep=self.train_config.keep_checkpoints,
                                          checkpoint_name="ckpt")

    def _save(self, manager, step):
        manager.save(checkpoint_number=step)
        if not self.is_chief:
            tf.io.gfile.rmtree(manager.directory)

    # --- The aggregate-posterior content prior ---

    def set_content_prior_frames(self, frames, labels):
        """Gives the training frames whose content posteriors form the generator's
        `"aggregate_posterior"` prior (see `ModelConfig.content_prior`).

        Args:
            frames: `(content_prior_size, res, res, 3)` float32 frames in [-1, 1].
            labels: `(content_prior_size,)` their labels.
        """
        self.content_prior_frames = (np.asarray(frames, np.float32),
                                     np.asarray(labels, np.int32))

    def refresh_content_prior(self, chunk=256):
        """Encodes the content-prior frames with the current E_c into the generator's prior.

        The same frames and weights on every worker give the same prior everywhere.
        """
        generator = self.models.generator
        if self._encode_content is None:
            self._encode_content = tf.function(generator.encode_content)
        generator.set_content_prior(*_encode_in_chunks(self._encode_content,
                                                       *self.content_prior_frames, chunk))

    # --- The aggregate-posterior motion prior ---

    def set_motion_prior_clips(self, videos, labels):
        """Gives the training clips whose motion posteriors form the generator's
        `"aggregate_posterior"` motion prior (see `ModelConfig.motion_prior`).

        Args:
            videos: `(num_classes * motion_prior_size, motion_noise_steps + 1, res, res, 3)`
                clips in [-1, 1], class by class (kept as float16).
            labels: their labels, `motion_prior_size` of each class in order.

        Raises:
            ValueError: the clips or labels do not have that layout.
        """
        config = self.model_config
        size, count = config.motion_prior_size, config.num_classes * config.motion_prior_size
        expected = (count, config.motion_noise_steps + 1, config.resolution, config.resolution,
                    3)
        if tuple(np.shape(videos)) != expected:
            raise ValueError(f"`videos` must have shape {expected} (num_classes * "
                             f"motion_prior_size clips of motion_noise_steps + 1 frames). "
                             f"Received: videos.shape={tuple(np.shape(videos))}")
        if not np.array_equal(labels, np.repeat(np.arange(config.num_classes), size)):
            raise ValueError(f"`labels` must hold {size} clips of each class in order. "
                             f"Received: labels={np.asarray(labels).tolist()}")
        self.motion_prior_clips = (np.asarray(videos, np.float16), np.asarray(labels, np.int32))

    def refresh_motion_prior(self, chunk=64):
        """Encodes the motion-prior clips with the current E_m into the generator's prior.

        The same clips and weights on every worker give the same prior everywhere.
        """
        generator, config = self.models.generator, self.model_config
        if self._encode_motion is None:
            self._encode_motion = tf.function(generator.encode_motion)
        shape = (config.num_classes, config.motion_prior_size, config.motion_noise_steps,
                 config.motion_dim)
        generator.set_motion_prior(*(posterior.reshape(shape) for posterior in _encode_in_chunks(
            self._encode_motion, *self.motion_prior_clips, chunk)))

    def _priors_due(self, step):
        """Refresh the stored priors at the end of pre-training and before every checkpoint
        after it."""
        config, pretrain = self.train_config, self.loss_config.pretrain_steps
        return step >= pretrain and (
            step == pretrain or step % config.checkpoint_every == 0
            or step == config.total_steps)

    # --- Samples ---

    def sample_videos(self, seed=None):
        """Generates `samples_per_class` videos per class with fixed noise.

        Returns:
            `(num_classes, samples_per_class, T, H, W, 3)` float32, unclipped.
        """
        config = self.model_config
        per_class = self.train_config.samples_per_class
        rng = np.random.default_rng(self.train_config.seed if seed is None else seed)
        count = config.num_classes * per_class
        labels = np.repeat(np.arange(config.num_classes, dtype=np.int32), per_class)
        content = rng.normal(size=(count, config.content_dim)).astype(np.float32)
        motion = rng.normal(size=(count, config.motion_noise_steps, config.motion_dim)).astype(
            np.float32)
        videos = self._generate(labels, content, motion).numpy()
        return videos.reshape(config.num_classes, per_class, *videos.shape[1:])

    @tf.function
    def _generate(self, labels, content, motion):
        return tf.cast(self.models.generator.generate(labels, content, motion), tf.float32)

    def write_samples(self, step, writer, loss_log):
        """Writes the sample GIF grid (one row per class), the loss plot and TensorBoard images."""
        if not self.is_chief:
            return
        videos = self.sample_videos()
        directory = os.path.join(self.model_dir, "samples")
        scale = media.display_scale(self.model_config.resolution)
        frames = media.tile_videos(videos, scale=scale)
        media.write_gif(os.path.join(directory, f"step_{step:08d}.gif"), frames)
        media.write_gif(os.path.join(directory, "latest.gif"), frames)
        strip = media.frame_strip_grid(videos[:, 0], scale=scale)
        with writer.as_default(step=step):
            tf.summary.image("samples/first_video_per_class", strip[None])
        steps, values = loss_log.series()
        if values:
            media.plot_losses(os.path.join(self.model_dir, "losses.png"), steps, values)

    def set_evaluator(self, evaluator):
        """Scores `evaluator`'s fixed sample every `eval_every` steps (on the chief): metrics
        to TensorBoard under `eval/`, the best generator by accuracy in `checkpoints_best/`.

        Args:
            evaluator: a `tsvan_tf.metrics.GeneratorEvaluator`.
        """
        from tsvan_tf.metrics import BestCheckpoint

        self.evaluator = evaluator
        self.best_checkpoint = BestCheckpoint(
            os.path.join(self.model_dir, BEST_CHECKPOINT_SUBDIR),
            tf.train.Checkpoint(generator=variables_trackable(self.models.generator)),
            metric="accuracy") if self.is_chief else None

    def evaluate(self, step, writer):
        """Scores the evaluator's sample now; returns the metrics (None off the chief)."""
        if not self.is_chief:
            return None
        metrics = self.evaluator(self.models.generator)
        with writer.as_default(step=step):
            for name, value in metrics.items():
                if isinstance(value, (int, float)):
                    tf.summary.scalar(f"eval/{name}", value)
        best = self.best_checkpoint.update(step, metrics)
        self._print(f"step {step}: accuracy {metrics['accuracy']:.3f}, inception score "
                    f"{metrics['inception_score']:.3f}" + (" (best so far)" if best else ""))
        return metrics

    def _print(self, message):
        if self.is_chief:
            print(message, file=self.log_stream, flush=True)


class Preempted(TrainingError):
    """The run received SIGTERM and saved a checkpoint before stopping."""


class LossLog:
    """Loss records in `losses.jsonl`, one JSON line per logged step; resumable."""

    def __init__(self, path, writable):
        self.path = path
        self.writable = writable

    def _records(self):
        if not os.path.exists(self.path):
            return []
        records = []
        with open(self.path) as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    break  # a line cut by a kill: drop it and what follows
        return records

    def truncate_after(self, step):
        """Drops records past `step` (written after the checkpoint being resumed)."""
        if not self.writable or not os.path.exists(self.path):
            return
        kept = [r for r in self._records() if r["step"] <= step]
        with media.atomic_path(self.path) as tmp:
            with open(tmp, "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in kept)

    def append(self, step, phase, values):
        if self.writable:
            with open(self.path, "a") as f:
                f.write(json.dumps({"step": step, "phase": phase, **values}) + "\n")

    def series(self):
        """Returns `({name: [step]}, {name: [value]})` of every logged loss (gates excluded)."""
        steps, values = {}, {}
        for record in self._records():
            for name, value in record.items():
                if name in ("step", "phase") or name.startswith("gate/"):
                    continue
                steps.setdefault(name, []).append(record["step"])
                values.setdefault(name, []).append(value)
        return steps, values


class _SignalFlag:
    """Context manager that records a signal instead of dying on it (main thread only)."""

    def __init__(self, signum):
        self.signum = signum
        self.received = False
        self._previous = None

    def _handler(self, signum, frame):
        del signum, frame
        self.received = True

    def __enter__(self):
        try:
            self._previous = signal.signal(self.signum, self._handler)
        except ValueError:  # not the main thread: leave the default behaviour
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(self.signum, self._previous)
        return False


def _synchronize_batch_norm(models):
    """Makes every BatchNormalization use global-batch statistics across replicas.

    A distribution setting, not part of the architecture: it is switched on the built layers
    (their `_moments`, read at call time) so saved models stay backend-neutral. Keras's own
    `synchronized=True` computes the variance in one pass, `E[x^2] - E[x]^2`, which loses ~1e-4
    relative precision against one replica's two-pass variance; this keeps two passes (one more
    all-reduce of a per-channel vector).
    """
    for model in (models.generator, models.image_discriminator, models.video_discriminator):
        for layer in model._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                layer._moments = functools.partial(_synchronized_moments, layer)


def _synchronized_moments(layer, inputs, mask):
    """Mean and variance of `inputs` over the global batch, in two all-reduced passes (in
    float32, or float64 for float64 inputs, as Keras's own statistics)."""
    if mask is not None:
        raise NotImplementedError("Synchronized BatchNorm statistics do not support masks.")
    context = tf.distribute.get_replica_context()
    axes = list(layer._reduction_axes)
    x = tf.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))

    def global_sum(values):
        total = tf.reduce_sum(values, axis=axes, keepdims=True)
        return context.all_reduce(tf.distribute.ReduceOp.SUM, total) if context else total

    count = global_sum(tf.ones_like(x[..., :1]))
    mean = global_sum(x) / count
    variance = global_sum(tf.square(x - mean)) / count
    mean, variance = tf.squeeze(mean, axes), tf.squeeze(variance, axes)
    return tf.cast(mean, inputs.dtype), tf.cast(variance, inputs.dtype)


def configure_threads(train_config):
    """Sets TensorFlow's intra- and inter-op thread pools from `train_config` (0: keep).

    Raises:
        TrainingError: TensorFlow already runs with other pool sizes in this process (they can
            only be set before its first op).
    """
    threading = tf.config.threading
    for name, value, get, set_ in (
            ("intra_op_threads", train_config.intra_op_threads,
             threading.get_intra_op_parallelism_threads,
             threading.set_intra_op_parallelism_threads),
            ("inter_op_threads", train_config.inter_op_threads,
             threading.get_inter_op_parallelism_threads,
             threading.set_inter_op_parallelism_threads)):
        if not value or get() == value:
            continue
        try:
            set_(value)
        except RuntimeError as error:
            raise TrainingError(
                f"{name}={value} cannot be applied: TensorFlow has already started in this "
                f"process with {get() or 'its default'} ({error}). Set it before the process "
                f"runs any TensorFlow op (the train CLI does), or leave it at 0.") from None


def _pool_size(threads):
    return threads or "default"


def create_strategy(name):
    """The `tf.distribute` strategy named by `TrainConfig.strategy`."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise TrainingError(
                "strategy='multi_worker' reads the cluster from the TF_CONFIG environment "
                "variable, which is not set (see the README, 'Several hosts').")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise TrainingError(f"Unknown strategy {name!r}: expected default, mirrored or multi_worker.")


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict())


# --- The whole run: data, model_dir bookkeeping, training ---

def default_cache_dir():
    """`$TSVAN_TF_CACHE`, else `$XDG_CACHE_HOME/tsvan_tf`, else `~/.cache/tsvan_tf`."""
    if os.environ.get("TSVAN_TF_CACHE"):
        return os.environ["TSVAN_TF_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tsvan_tf")


def prepare_synthetic(model_config, cache_dir=None, seed=0, wait_only=False,
                      timeout_s=3600):
    """Prepares the embedded synthetic dataset at the model's resolution, once, in the cache.

    Args:
        model_config: gives the frame size and the clip length.
        cache_dir: the cache (see `default_cache_dir`).
        seed: the dataset's seed.
        wait_only: wait for another process (the chief worker) to prepare it instead.
        timeout_s: how long `wait_only` waits.

    Returns:
        The prepared folder (re-used when it already exists).
    """
    from tsvan_tf import datasets
    from tsvan_tf.datasets import synthetic

    num_frames = max(16, model_config.frames)
    directory = os.path.join(
        cache_dir or default_cache_dir(),
        f"synthetic-v{synthetic.VERSION}-{model_config.resolution}px-{num_frames}f-seed{seed}")
    if not wait_only:
        datasets.prepare_dataset("synthetic", directory, seed=seed, num_frames=num_frames,
                                 image_size=model_config.resolution)
        return directory
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(os.path.join(directory, datasets.manifest.MANIFEST_FILENAME)):
        if time.monotonic() > deadline:
            raise TrainingError(f"Timed out waiting for the chief to prepare {directory}.")
        time.sleep(1.0)
    return directory


def check_data(manifest, model_config):
    """Refuses a dataset whose classes or frame size disagree with the model, naming both."""
    if manifest.num_classes != model_config.num_classes:
        raise TrainingError(
            f"The data in {manifest.data_dir} has {manifest.num_classes} classes "
            f"{list(manifest.class_names)}, but the model config says num_classes="
            f"{model_config.num_classes}. Leave --num_classes unset to take it from the data.")
    size = tuple(manifest.crop_size or manifest.resolution)
    expected = (model_config.resolution, model_config.resolution)
    if size != expected:
        raise TrainingError(
            f"The data in {manifest.data_dir} gives {size[0]}x{size[1]} frames, but the model "
            f"config says resolution={model_config.resolution}. Prepare the data at "
            f"{expected[0]}x{expected[1]} or set --resolution to match.")


def _differences(old, new):
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)]


def check_or_write_config(model_dir, resolved, is_chief=True):
    """Writes `config.json`, refusing a `model_dir` that holds another architecture.

    Loss and training settings may change between runs (say, more steps); the model, its
    variant and the classes may not, since the checkpoints would not fit them.

    Returns:
        The list of changed loss/training settings (empty on a fresh or identical run).
    """
    path = os.path.join(model_dir, CONFIG_FILE)
    changed = []
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        incompatible = _differences(old.get("model", {}), resolved["model"])
        for key in ("single_stream", "class_names"):
            if old.get(key) != resolved[key]:
                incompatible.append(f"{key}: {old.get(key)!r} -> {resolved[key]!r}")
        if incompatible:
            raise TrainingError(
                f"{model_dir} holds a model trained with another configuration; its checkpoints "
                f"cannot be resumed with this one. Differences: {'; '.join(incompatible)}. Use "
                f"a new --model_dir, or the settings in {path}.")
        changed = _differences(old.get("loss", {}), resolved["loss"]) + _differences(
            old.get("train", {}), resolved["train"])
    if is_chief:
        os.makedirs(model_dir, exist_ok=True)
        with media.atomic_path(path) as tmp:
            with open(tmp, "w") as f:
                json.dump(resolved, f, indent=2, sort_keys=True)
    return changed


def resolved_config(model_config, loss_config, train_config, manifest, single_stream):
    """The JSON written to `model_dir/config.json` (and printed by `--dry_run`)."""
    from tsvan_tf.version import __version__

    return {
        "model": model_config.to_dict(),
        "loss": loss_config.to_dict(),
        "train": train_config.to_dict(),
        "single_stream": single_stream,
        "class_names": list(manifest.class_names) if manifest else None,
        "data_dir": manifest.data_dir if manifest else None,
        "tsvan_tf_version": __version__,
    }


def train(model_config, loss_config, train_config, model_dir, data_dir=None, cache_dir=None,
          single_stream=False, log_stream=None, classifier_dir=None):
    """Trains TwoStreamVAN (or the single-stream baseline) on prepared clips.

    Re-running with the same `model_dir` resumes from its latest checkpoint; on a finished run
    it does nothing.

    Args:
        model_config: `ModelConfig`; `num_classes` and `resolution` must match the data.
        loss_config: `LossConfig`.
        train_config: `TrainConfig`.
        model_dir: output folder (checkpoints, `config.json`, `samples/`, `losses.png`,
            `losses.jsonl`, `tensorboard/`).
        data_dir: a folder prepared by `tsvan_tf.datasets.prepare`; None prepares the embedded
            synthetic dataset into `cache_dir` once and trains on it.
        cache_dir: where the synthetic dataset is cached (see `default_cache_dir`).
        single_stream: train `SingleStreamVAN`, the paper's single-generator baseline.
        log_stream: where progress goes (stderr by default).
        classifier_dir: a trained action classifier (`tsvan_tf.train_classifier`) scoring a
            fixed sample every `train_config.eval_every` steps; None evaluates never.

    Returns:
        The `Trainer` after training (its models hold the trained weights).

    Raises:
        TrainingError: incompatible data or `model_dir`, a diverged loss (`TrainingError`), or
            SIGTERM (`Preempted`, after saving a checkpoint).
    """
    from tsvan_tf import datasets

    configure_threads(train_config)
    strategy = create_strategy(train_config.strategy)
    if data_dir is None:
        data_dir = prepare_synthetic(model_config, cache_dir, seed=0,
                                     wait_only=not _is_chief(strategy))
    manifest = datasets.read_manifest(data_dir)
    check_data(manifest, model_config)
    trainer = Trainer(model_config, loss_config, train_config, model_dir,
                      single_stream=single_stream, strategy=strategy, log_stream=log_stream)
    changed = check_or_write_config(
        model_dir, resolved_config(model_config, loss_config, train_config, manifest,
                                   single_stream), trainer.is_chief)
    if changed:
        trainer._print("Settings changed since the last run of this model_dir: "
                       + "; ".join(changed))
    if classifier_dir:
        trainer.set_evaluator(_evaluator(classifier_dir, data_dir, manifest, model_config,
                                         train_config))
    if model_config.content_prior == "aggregate_posterior":
        trainer.set_content_prior_frames(*content_prior_frames(data_dir, model_config))
    if model_config.motion_prior == "aggregate_posterior":
        trainer.set_motion_prior_clips(*motion_prior_clips(
            data_dir, model_config, frame_stride=train_config.frame_stride or None))
    restored = _latest_step(model_dir)
    dataset = datasets.load_clips(
        data_dir, split="train", frames=model_config.frames,
        batch_size=train_config.batch_size, training=True,
        frame_stride=train_config.frame_stride or None,
        max_frame_stride=train_config.max_frame_stride or None,
        image_size=model_config.resolution, shuffle_buffer=train_config.shuffle_buffer,
        seed=train_config.seed * 1_000_003 + restored)
    trainer.train(dataset)
    return trainer


def content_prior_frames(data_dir, model_config):
    """The frames behind the `"aggregate_posterior"` content prior.

    Every frame of the first training clips in file order (so every worker reads the same
    ones), cycled to `content_prior_size` frames.

    Returns:
        `(frames (content_prior_size, res, res, 3) float32, labels (content_prior_size,))`.
    """
    from tsvan_tf import datasets

    size, frames_per_clip = model_config.content_prior_size, model_config.frames
    batch = next(iter(datasets.load_clips(
        data_dir, split="train", frames=frames_per_clip,
        batch_size=-(-size // frames_per_clip), training=False,
        image_size=model_config.resolution, drop_remainder=False)))
    videos = batch["video"].numpy()
    frames = videos.reshape(-1, *videos.shape[2:])
    labels = np.repeat(batch["label"].numpy(), frames_per_clip)
    index = np.arange(size) % len(frames)
    return frames[index], labels[index]


def _encode_in_chunks(encode, inputs, labels, chunk):
    """`encode(inputs, labels) -> (mean, log_var)` over `chunk` rows at a time (as float32).

    Returns:
        `(mean, log_var)` NumPy arrays of all rows.
    """
    parts = [encode(inputs[i:i + chunk].astype(np.float32), labels[i:i + chunk])
             for i in range(0, len(inputs), chunk)]
    return tuple(np.concatenate([part[k].numpy() for part in parts]) for k in range(2))


def motion_prior_clips(data_dir, model_config, frame_stride=None):
    """The clips behind the `"aggregate_posterior"` motion prior.

    Per class, its first `motion_prior_size` training clips in file order (so every worker reads
    the same ones), cycled if the class has fewer, each a window of `motion_noise_steps + 1`
    frames from its start, at the training's frame stride.

    Args:
        data_dir: a prepared dataset.
        model_config: `ModelConfig` (`num_classes`, `motion_prior_size`, the clip length).
        frame_stride: as the training's `load_clips`; None uses the manifest's.

    Returns:
        `(videos (num_classes * motion_prior_size, motion_noise_steps + 1, res, res, 3) float16,
        labels)`, class by class.

    Raises:
        TrainingError: clips too short for the window, or a class without training clips.
    """
    from tsvan_tf import datasets

    size, frames = model_config.motion_prior_size, model_config.motion_noise_steps + 1
    try:
        clips = datasets.load_clips(
            data_dir, split="train", frames=frames, batch_size=256, training=False,
            frame_stride=frame_stride, image_size=model_config.resolution,
            drop_remainder=False)
    except ValueError as error:
        raise TrainingError(f"--motion_prior=aggregate_posterior stores windows of "
                            f"frames + warmup_frames = {frames} frames: {error}") from error
    per_class = [[] for _ in range(model_config.num_classes)]
    for batch in clips:
        for video, label in zip(batch["video"].numpy(), batch["label"].numpy()):
            if len(per_class[label]) < size:
                per_class[label].append(video.astype(np.float16))
        if all(len(videos) == size for videos in per_class):
            break
    empty = [label for label, videos in enumerate(per_class) if not videos]
    if empty:
        raise TrainingError(f"--motion_prior=aggregate_posterior needs training clips of "
                            f"every class; {data_dir} has none of classes {empty}.")
    videos = [videos[i % len(videos)] for videos in per_class for i in range(size)]
    labels = np.repeat(np.arange(model_config.num_classes, dtype=np.int32), size)
    return np.stack(videos), labels


def _evaluator(classifier_dir, data_dir, manifest, model_config, train_config):
    """The `GeneratorEvaluator` of `--eval_every`, with the test split's Frechet features."""
    from tsvan_tf import datasets
    from tsvan_tf import metrics

    try:
        evaluator = metrics.GeneratorEvaluator(
            metrics.load_classifier(classifier_dir), model_config, manifest.class_names,
            num_per_class=train_config.eval_samples_per_class, seed=train_config.seed,
            batch_size=train_config.batch_size,
            real_videos=datasets.load_clips(
                data_dir, split="test", frames=model_config.frames,
                batch_size=train_config.batch_size, training=False,
                image_size=model_config.resolution, drop_remainder=False))
    except ValueError as error:
        raise TrainingError(f"--classifier={classifier_dir}: {error}") from error
    return evaluator


def _latest_step(model_dir):
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else 0
