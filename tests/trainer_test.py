"""Tests of the trainer's steps: each phase's loss, optimizer groups, the NaN guard, gating."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl.testing import parameterized

from tsvan_tf import losses
from tsvan_tf import testing
from tsvan_tf import trainer
from tsvan_tf.config import LossConfig
from tsvan_tf.config import ModelConfig
from tsvan_tf.config import TrainConfig

# The smoke flagfile's model (configs/smoke.cfg), small enough to trace every phase quickly.
TINY_MODEL = dict(
    num_classes=3, frames=4, resolution=16, base_width=8, content_dim=16, motion_dim=8,
    content_hidden_dim=32, motion_encoder_width=8, motion_channels=8, motion_hidden_dim=32,
    joint_dim=8, motion_decoder_widths=(16, 16, 16, 8), kernel_branch_channels=(8, 8, 8, 8),
    kernel_branch_width=8, kernel_size=3, num_scales=2, image_discriminator_width=8,
    video_discriminator_width=8)


def tiny_configs(**train_overrides):
    model_config = ModelConfig.from_preset("synthetic", **TINY_MODEL)
    loss_config = LossConfig.from_preset("synthetic", pretrain_steps=0)
    train_config = TrainConfig.from_preset(
        "synthetic", **{"batch_size": 4, "xla_phases": (), "learning_rate": 1e-3,
                        **train_overrides})
    return model_config, loss_config, train_config


def fixed_batch(model_config, batch_size=4, seed=0):
    """Smooth moving blobs (a learnable target), labels cycling over the classes."""
    rng = np.random.default_rng(seed)
    t, r = model_config.frames, model_config.resolution
    yy, xx = np.mgrid[0:r, 0:r] / r
    videos = np.empty((batch_size, t, r, r, 3), np.float32)
    for b in range(batch_size):
        cx, cy, speed = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(-0.08, 0.08)
        for f in range(t):
            blob = np.exp(-((xx - cx - speed * f) ** 2 + (yy - cy) ** 2) / 0.02)
            videos[b, f] = (blob[..., None] * rng.uniform(0.5, 1.0, 3) * 2 - 1)
    labels = np.arange(batch_size, dtype=np.int32) % model_config.num_classes
    return {"video": tf.constant(videos), "label": tf.constant(labels)}


def _snapshot(variables):
    return [v.numpy().copy() for v in variables]


class TrainerStepTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model_config, cls.loss_config, cls.train_config = tiny_configs()
        cls.model_dir = tempfile.mkdtemp(prefix="trainer-test-")
        cls.trainer = trainer.Trainer(cls.model_config, cls.loss_config, cls.train_config,
                                      cls.model_dir)
        cls.batch = fixed_batch(cls.model_config)

    def setUp(self):
        # The shared trainer holds the models: keep its (float32) policy and session.
        tf.test.TestCase.setUp(self)

    def _group_variables(self, names):
        return {id(v) for name in names for v in self.trainer.models.variables_of(name)}

    def _run_phase(self, phase, steps, start=0):
        return [self.trainer.train_step(self.batch, start + i, phase_name=phase)[1]
                for i in range(steps)]

    def test_each_phase_reduces_its_loss(self):
        for phase, key in (("pretrain", "pretrain/reconstruction"),
                           ("content", "content/reconstruction"),
                           ("prediction", "prediction/reconstruction"),
                           ("video", "video/reconstruction")):
            with self.subTest(phase=phase):
                values = [v[key] for v in self._run_phase(phase, 6)]
                self.assertTrue(np.all(np.isfinite(values)), values)
                self.assertLess(np.mean(values[-2:]), values[0], f"{phase}: {values}")

    def test_each_phase_updates_only_its_groups(self):
        everything = [v for name in trainer.OPTIMIZER_NAMES
                      for v in self.trainer.models.variables_of(name)]
        for phase_name, phase in trainer.PHASES.items():
            with self.subTest(phase=phase_name):
                before = _snapshot(everything)
                _, values = self.trainer.train_step(self.batch, 0, phase_name=phase_name)
                changed = {id(v) for v, b in zip(everything, before)
                           if not np.array_equal(v.numpy(), b)}
                roles = ["encoder"]
                if phase.margin is None or values["gate/decoder"]:
                    roles.append("decoder")
                if phase.margin is not None and values["gate/discriminator"]:
                    roles.append("discriminator")
                allowed = self._group_variables(phase.optimizers.values())
                expected = self._group_variables(phase.optimizers[r] for r in roles)
                self.assertTrue(changed <= allowed, f"{phase_name} changed variables of "
                                                    f"another group")
                # Every variable of an applied group moves (Adam's first step is +-lr).
                self.assertEqual(changed, expected)

    def _prediction_pass(self, seed):
        """Fixed prediction-task draws and the model's forward pass on them."""
        config = self.model_config
        rng = np.random.default_rng(seed)
        draws = {"timestep": tf.constant(2), **{
            key: tf.constant(rng.normal(size=(4, config.frames - 1, config.motion_dim)),
                             tf.float32) for key in ("motion_noise", "prior_motion_noise")}}
        out = self.trainer.models.generator.prediction_forward(
            self.batch["video"], self.batch["label"], draws["timestep"],
            draws["motion_noise"][:, 0], draws["prior_motion_noise"][:, 0], training=True)
        return draws, out

    def _prediction_losses(self, draws, loss_config):
        return trainer.prediction_losses(self.trainer.models, self.batch["video"],
                                         self.batch["label"], draws, loss_config)

    def test_prediction_target_selects_the_pixel_target(self):
        draws, out = self._prediction_pass(seed=0)
        for target, key in (("frame", "target"), ("content_decoding", "target_decoding")):
            with self.subTest(target=target):
                loss_config = LossConfig.from_preset("synthetic", prediction_target=target)
                terms = self._prediction_losses(draws, loss_config)[0]
                expected = np.mean((out["x_tilde"].numpy() - out[key].numpy()) ** 2)
                self.assertAllClose(terms["reconstruction"], expected, rtol=1e-4)

    def test_prior_reconstruction_weight_adds_the_prior_pass_pixel_loss(self):
        draws, out = self._prediction_pass(seed=1)
        expected = np.mean((out["x_p"].numpy() - out["target"].numpy()) ** 2)
        paper = LossConfig.from_preset("synthetic")
        terms, roles = self._prediction_losses(draws, paper)[:2]
        self.assertNotIn("prior_reconstruction", terms)
        weighted = paper.replace(prediction_prior_reconstruction_weight=0.5)
        terms_w, roles_w = self._prediction_losses(draws, weighted)[:2]
        self.assertAllClose(terms_w["prior_reconstruction"], expected, rtol=1e-4)
        added = paper.reconstruction_weight * 0.5 * expected
        for role in ("encoder", "decoder"):
            self.assertAllClose(roles_w[role] - roles[role], added, rtol=1e-3)
        self.assertAllClose(roles_w["discriminator"], roles["discriminator"])

    def test_prediction_inputs_content_decoding_runs_on_the_decoded_clip(self):
        config = self.model_config
        generator = self.trainer.models.generator
        videos, labels = self.batch["video"], self.batch["label"]
        decoded = np.stack([generator.decode_content(
            generator.encode_content(videos[:, f], labels)[0], labels)[0].numpy()
            for f in range(config.frames)], axis=1)
        self.assertAllClose(trainer.content_decoded_clips(generator, videos, labels), decoded,
                            atol=1e-5)
        draws, _ = self._prediction_pass(seed=3)
        paper = LossConfig.from_preset("synthetic")
        terms = trainer.prediction_losses(
            self.trainer.models, videos, labels, draws,
            paper.replace(prediction_inputs="content_decoding"))[0]
        on_decoded = trainer.prediction_losses(self.trainer.models, tf.constant(decoded), labels,
                                               draws, paper)[0]
        on_real = trainer.prediction_losses(self.trainer.models, videos, labels, draws, paper)[0]
        self.assertAllClose(terms["reconstruction"], on_decoded["reconstruction"], rtol=1e-3)
        self.assertNotAllClose(terms["reconstruction"], on_real["reconstruction"], rtol=1e-2)

    def test_prediction_self_feed_predicts_from_the_models_own_frame(self):
        draws, _ = self._prediction_pass(seed=4)
        paper = LossConfig.from_preset("synthetic")
        generator = self.trainer.models.generator
        # Each training-mode call moves BatchNorm's moving statistics, which the self-fed frame
        # (inference mode) reads: every call below starts from the same ones.
        saved = [v.numpy() for v in generator.non_trainable_variables]

        def restore():
            for variable, kept in zip(generator.non_trainable_variables, saved):
                variable.assign(kept)

        restore()
        fed = generator.prediction_forward(
            self.batch["video"], self.batch["label"], draws["timestep"],
            draws["motion_noise"][:, 0], draws["prior_motion_noise"][:, 0], training=True,
            self_feed=True)
        expected = float(losses.reconstruction_loss(fed["x_tilde"], fed["target"]))
        restore()
        self_fed = float(self._prediction_losses(
            draws, paper.replace(prediction_self_feed=True))[0]["reconstruction"])
        restore()
        real = float(self._prediction_losses(draws, paper)[0]["reconstruction"])
        self.assertAllClose(self_fed, expected, rtol=1e-5)
        # The predictions hardly depend on their input frame at first (about 0.1 % apart).
        self.assertGreater(abs(real - self_fed), 10 * abs(self_fed - expected))

    def test_content_cycle_weight_adds_the_latent_cycle_of_the_prior_sample(self):
        config = self.model_config
        rng = np.random.default_rng(2)
        draws = {"frame_index": tf.constant(1), "content_kl_weight": tf.constant(1.0), **{
            key: tf.constant(rng.normal(size=(4, config.content_dim)), tf.float32)
            for key in ("content_noise", "prior_content_noise")}}
        generator = self.trainer.models.generator
        out = generator.content_forward(self.batch["video"], self.batch["label"],
                                        draws["frame_index"], draws["content_noise"],
                                        draws["prior_content_noise"])
        again, _ = generator.encode_content(out["x_p"], self.batch["label"])
        expected = np.mean((again.numpy() - draws["prior_content_noise"].numpy()) ** 2)
        paper = LossConfig.from_preset("synthetic")
        for loss_fn in (trainer.pretrain_losses, trainer.content_losses):
            with self.subTest(phase=loss_fn.__name__):
                args = (self.trainer.models, self.batch["video"], self.batch["label"], draws)
                terms, roles = loss_fn(*args, paper)[:2]
                self.assertNotIn("cycle", terms)
                terms_w, roles_w = loss_fn(*args, paper.replace(content_cycle_weight=0.5))[:2]
                self.assertAllClose(terms_w["cycle"], expected, rtol=1e-4)
                for role in ("encoder", "decoder"):
                    self.assertAllClose(roles_w[role] - roles[role], 0.5 * expected, rtol=1e-3)

    def test_motion_phases_freeze_the_content_stream(self):
        content = self._group_variables(["content_encoder", "content_decoder"])
        for phase in ("prediction", "video"):
            groups = set(trainer.PHASES[phase].optimizers.values())
            self.assertFalse(content & self._group_variables(groups), phase)

    def test_thread_pools_cannot_change_once_tensorflow_runs(self):
        current = tf.config.threading.get_inter_op_parallelism_threads()
        _, _, unset = tiny_configs()
        trainer.configure_threads(unset)  # 0: keep TensorFlow's choice
        self.assertEqual(tf.config.threading.get_inter_op_parallelism_threads(), current)
        _, _, other = tiny_configs(inter_op_threads=current + 3)
        with self.assertRaisesRegex(trainer.TrainingError,
                                    rf"inter_op_threads={current + 3} cannot be applied.*"
                                    r"before the process runs any TensorFlow op"):
            trainer.configure_threads(other)

    def test_nan_guard_stops_before_changing_weights(self):
        everything = self.trainer.models.generator.trainable_variables
        before = _snapshot(everything)
        bad = dict(self.batch)
        bad["video"] = tf.fill(tf.shape(self.batch["video"]), float("nan"))
        with self.assertRaisesRegex(trainer.TrainingError,
                                    r"Loss 'content/\w+' is nan at step 7: training stopped "
                                    r"before applying this step"):
            self.trainer.train_step(bad, 7, phase_name="content")
        for variable, value in zip(everything, before):
            np.testing.assert_array_equal(variable.numpy(), value)

    def test_draws_depend_only_on_seed_and_step(self):
        a = trainer.draw_step_randoms(12, 3, self.model_config, self.loss_config)
        b = trainer.draw_step_randoms(12, 3, self.model_config, self.loss_config)
        c = trainer.draw_step_randoms(13, 3, self.model_config, self.loss_config)
        self.assertEqual(a[0], b[0])
        for key in a[1]:
            np.testing.assert_array_equal(a[1][key], b[1][key])
        self.assertFalse(all(np.array_equal(a[1][k], c[1][k]) for k in a[1]))

    def test_phase_mix_follows_the_schedule(self):
        loss_config = LossConfig.from_preset("weizmann")
        rng = np.random.default_rng(0)
        counts = {"content": 0, "prediction": 0, "video": 0}
        for _ in range(4000):
            counts[trainer.choose_phase(0, rng, loss_config)] += 1
        # Spec 5: 60% content, 36% prediction and 4% video at the start of the schedule.
        self.assertAllClose([counts["content"] / 4000, counts["prediction"] / 4000,
                             counts["video"] / 4000], [0.6, 0.36, 0.04], atol=0.03)
        self.assertEqual(trainer.choose_phase(
            5, rng, loss_config.replace(pretrain_steps=10)), "pretrain")


@pytest.mark.large  # 2-5 minutes per policy on 2 cores (four phases traced)
class MixedPrecisionTest(testing.TestCase):
    """Every phase trains under a mixed policy: float32 variables and losses, finite steps."""

    def tearDown(self):
        keras.mixed_precision.set_global_policy("float32")
        super().tearDown()

    @parameterized.named_parameters(
        ("float16", "mixed_float16"),
        ("bfloat16", "mixed_bfloat16"))
    def test_every_phase_steps_under_policy(self, policy):
        model_config, loss_config, train_config = tiny_configs(mixed_precision=policy)
        run = trainer.Trainer(model_config, loss_config, train_config, self.get_temp_dir())
        generator = run.models.generator
        self.assertEqual(generator.compute_dtype, policy.split("_")[1])
        self.assertTrue(all(v.dtype == "float32" for v in generator.variables))
        optimizer = run.optimizers["content_decoder"]
        loss_scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        self.assertEqual(loss_scaled, policy == "mixed_float16")
        batch = fixed_batch(model_config)
        decoder = run.models.variables_of("content_decoder")
        before = _snapshot(decoder)
        initial_scale = float(optimizer.dynamic_scale.numpy()) if loss_scaled else None
        steps = [*trainer.PHASES] + ["pretrain"] * 20
        for step, phase in enumerate(steps):
            _, values = run.train_step(batch, step, phase_name=phase)
            self.assertTrue(all(np.isfinite(v) for v in values.values()), (phase, values))
        if loss_scaled:
            # float16 gradients of the 1e4-weighted reconstruction overflow at the initial
            # scale: those steps are skipped and the scale halves until they fit.
            self.assertLess(float(optimizer.dynamic_scale.numpy()), initial_scale)
        moved = sum(not np.array_equal(v.numpy(), b) for v, b in zip(decoder, before))
        self.assertEqual(moved, len(decoder))
        videos = run.sample_videos()
        self.assertEqual(videos.dtype, np.float32)
        self.assertTrue(np.all(np.isfinite(videos)))


class ContentPriorTest(testing.TestCase):

    def test_refreshed_at_the_end_of_pretraining_checkpointed_and_restored(self):
        model_config, loss_config, train_config = tiny_configs(
            total_steps=3, checkpoint_every=1, sample_every=100)
        model_config = model_config.replace(content_prior="aggregate_posterior",
                                            content_prior_size=6)
        loss_config = loss_config.replace(pretrain_steps=2)
        model_dir = self.get_temp_dir()
        batch = fixed_batch(model_config)
        frames = batch["video"].numpy()[:2].reshape(-1, *batch["video"].shape[2:])[:6]
        labels = np.repeat(batch["label"].numpy()[:2], model_config.frames)[:6]
        dataset = tf.data.Dataset.from_tensors(batch).repeat()
        run = trainer.Trainer(model_config, loss_config, train_config.replace(total_steps=1),
                              model_dir, log_stream=open(os.devnull, "w"))
        run.set_content_prior_frames(frames, labels)
        generator = run.models.generator
        run.train(dataset)  # step 1 < pretrain_steps: still N(0, I)
        self.assertAllEqual(generator.content_prior_mean.numpy(), np.zeros((6, 16)))
        run.train_config = train_config.replace(total_steps=2)
        run.train(dataset)  # step 2 ends pre-training: the posteriors of the frames
        mean, log_var = generator.encode_content(frames, labels)
        self.assertAllClose(generator.content_prior_mean, mean, atol=1e-6)
        self.assertAllClose(generator.content_prior_log_var, log_var, atol=1e-6)
        self.assertGreater(np.abs(mean.numpy()).max(), 1e-3)
        resumed = trainer.Trainer(model_config, loss_config, train_config, model_dir,
                                  log_stream=open(os.devnull, "w"))
        resumed._checkpoint_manager()  # restores step 2, without the frames
        self.assertAllClose(resumed.models.generator.content_prior_mean, mean, atol=1e-6)

    def test_frames_come_from_the_training_split(self):
        from tsvan_tf import datasets

        model_config = ModelConfig.from_preset("synthetic", **TINY_MODEL).replace(
            num_classes=8, content_prior="aggregate_posterior", content_prior_size=10)
        data_dir = os.path.join(self.get_temp_dir(), "data")
        datasets.prepare_dataset("synthetic", data_dir, progress=False, num_frames=4,
                                 image_size=16, train_clips_per_class=1, test_clips_per_class=1)
        frames, labels = trainer.content_prior_frames(data_dir, model_config)
        self.assertEqual(frames.shape, (10, 16, 16, 3))
        self.assertAllEqual(labels, np.repeat([0, 1, 2], 4)[:10])
        self.assertBetween(float(frames.min()), -1.0, 1.0)
        self.assertGreater(np.abs(frames[1] - frames[0]).max(), 0.01)  # a moving object
        model_config = model_config.replace(content_prior_size=40)  # more than the 32 frames
        frames, labels = trainer.content_prior_frames(data_dir, model_config)
        self.assertAllEqual(frames[32:], frames[:8])
        self.assertAllEqual(labels[32:], labels[:8])


class MotionPriorTest(testing.TestCase):

    def test_refreshed_at_the_end_of_pretraining_checkpointed_and_restored(self):
        model_config, loss_config, train_config = tiny_configs(
            total_steps=3, checkpoint_every=1, sample_every=100)
        model_config = model_config.replace(motion_prior="aggregate_posterior",
                                            motion_prior_size=2)
        loss_config = loss_config.replace(pretrain_steps=2)
        model_dir = self.get_temp_dir()
        steps = model_config.motion_noise_steps
        rng = np.random.default_rng(3)
        clips = rng.uniform(-1, 1, size=(6, steps + 1, 16, 16, 3)).astype(np.float32)
        labels = np.repeat(np.arange(3), 2)
        dataset = tf.data.Dataset.from_tensors(fixed_batch(model_config)).repeat()
        run = trainer.Trainer(model_config, loss_config, train_config.replace(total_steps=1),
                              model_dir, log_stream=open(os.devnull, "w"))
        with self.assertRaisesRegex(ValueError, "clips of each class in order"):
            run.set_motion_prior_clips(clips, labels[::-1])
        with self.assertRaisesRegex(ValueError, r"must have shape \(6, 6, 16, 16, 3\)"):
            run.set_motion_prior_clips(clips[:, :-1], labels)
        run.set_motion_prior_clips(clips, labels)
        generator = run.models.generator
        run.train(dataset)  # step 1 < pretrain_steps: still N(0, I)
        self.assertAllEqual(generator.motion_prior_mean.numpy(), np.zeros((3, 2, steps, 8)))
        run.train_config = train_config.replace(total_steps=2)
        run.train(dataset)  # step 2 ends pre-training: the posteriors of the clips
        mean, log_var = generator.encode_motion(clips.astype(np.float16).astype(np.float32),
                                                labels)
        self.assertAllClose(generator.motion_prior_mean, tf.reshape(mean, (3, 2, steps, 8)),
                            atol=1e-5)
        self.assertAllClose(generator.motion_prior_log_var,
                            tf.reshape(log_var, (3, 2, steps, 8)), atol=1e-5)
        self.assertGreater(np.abs(mean.numpy()).max(), 1e-3)
        resumed = trainer.Trainer(model_config, loss_config, train_config, model_dir,
                                  log_stream=open(os.devnull, "w"))
        resumed._checkpoint_manager()  # restores step 2, without the clips
        self.assertAllClose(resumed.models.generator.motion_prior_mean,
                            generator.motion_prior_mean, atol=0)

    def test_clips_come_from_the_training_split_class_by_class(self):
        from tsvan_tf import datasets

        model_config = ModelConfig.from_preset("synthetic", **TINY_MODEL).replace(
            num_classes=8, frames=4, warmup_frames=1, motion_prior="aggregate_posterior",
            motion_prior_size=3)
        data_dir = os.path.join(self.get_temp_dir(), "data")
        datasets.prepare_dataset("synthetic", data_dir, progress=False, num_frames=6,
                                 image_size=16, train_clips_per_class=2, test_clips_per_class=1)
        videos, labels = trainer.motion_prior_clips(data_dir, model_config)
        self.assertEqual(videos.shape, (24, 5, 16, 16, 3))
        self.assertEqual(videos.dtype, np.float16)
        self.assertAllEqual(labels, np.repeat(np.arange(8), 3))
        train = next(iter(datasets.load_clips(data_dir, split="train", frames=5, batch_size=16,
                                              training=False, image_size=16)))
        for label in range(8):  # two clips per class, the first one repeated
            own = train["video"].numpy()[train["label"].numpy() == label]
            self.assertAllClose(videos[3 * label:3 * label + 3].astype(np.float32),
                                own[[0, 1, 0]], atol=2e-3)
        with self.assertRaisesRegex(trainer.TrainingError, "frames \\+ warmup_frames = 8"):
            trainer.motion_prior_clips(data_dir, model_config.replace(frames=6, warmup_frames=2))


class ConfigCheckTest(testing.TestCase):

    def test_incompatible_model_dir_is_refused_and_kept(self):
        model_config, loss_config, train_config = tiny_configs()
        model_dir = self.get_temp_dir()
        first = trainer.resolved_config(model_config, loss_config, train_config, None, False)
        trainer.check_or_write_config(model_dir, first)
        path = os.path.join(model_dir, trainer.CONFIG_FILE)
        with open(path) as f:
            written = f.read()
        other = trainer.resolved_config(model_config.replace(content_dim=32), loss_config,
                                        train_config, None, False)
        with self.assertRaisesRegex(trainer.TrainingError,
                                    r"content_dim: 16 -> 32.*Use a new --model_dir"):
            trainer.check_or_write_config(model_dir, other)
        with open(path) as f:
            self.assertEqual(f.read(), written)
        longer = trainer.resolved_config(model_config, loss_config,
                                         train_config.replace(total_steps=99), None, False)
        self.assertEqual(trainer.check_or_write_config(model_dir, longer),
                         ["total_steps: 3000 -> 99"])
