"""Distribution tests: MirroredStrategy over 2 logical CPUs equals one replica; two
MultiWorkerMirroredStrategy workers on localhost agree. Each runs in fresh processes, since the
logical devices and the cluster must be set before TensorFlow starts."""

import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tsvan_tf import testing

REPO = pathlib.Path(__file__).resolve().parent.parent

_MIRRORED = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[1])
    from tests.trainer_test import fixed_batch, tiny_configs
    from tsvan_tf import trainer

    # float64 weights and activations (the losses stay float32): see the test's docstring.
    keras.config.set_dtype_policy("float64")
    model_config, loss_config, train_config = tiny_configs()
    batch = fixed_batch(model_config)
    batch["video"] = tf.cast(batch["video"], "float64")
    phases = ("content", "prediction", "video")
    results = {}
    for name, strategy in (("one", tf.distribute.OneDeviceStrategy("/cpu:0")),
                           ("two", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
        run = trainer.Trainer(model_config, loss_config, train_config, "/tmp/unused",
                              strategy=strategy)
        dataset = tf.data.Dataset.from_tensors(batch).repeat()
        iterator = iter(strategy.experimental_distribute_dataset(dataset))
        variables = (run.models.generator.trainable_variables
                     + run.models.image_discriminator.trainable_variables
                     + run.models.video_discriminator.trainable_variables)
        if name == "one":
            with open(f"{sys.argv[2]}/paths.txt", "w") as f:
                f.write(chr(10).join(v.path for v in variables))
        # The gradients each phase applies (summed over replicas), at the initial weights.
        summed, names = [], []
        for step, phase in enumerate(phases):
            draws = trainer.draw_step_randoms(step, train_config.seed, model_config,
                                              loss_config)[1]
            draws = {k: tf.constant(v) for k, v in draws.items()}
            _, _, gradients = run._gradient_function(phase)(next(iterator), draws)
            for role in sorted(gradients):
                summed += [strategy.reduce("SUM", g, axis=None).numpy()
                           for g in gradients[role]]
                names += [f"{phase}/{role}/{v.path}" for v in run.models.variables_of(
                    trainer.PHASES[phase].optimizers[role])]
        np.savez(f"{sys.argv[2]}/{name}_gradients.npz", *summed)
        with open(f"{sys.argv[2]}/gradient_names.txt", "w") as f:
            f.write(chr(10).join(names))
        gates = []
        for step, phase in enumerate(phases):
            _, values = run.train_step(next(iterator), step, phase_name=phase)
            gates.append({k: v for k, v in values.items() if k.startswith("gate/")})
        np.savez(f"{sys.argv[2]}/{name}.npz", *[v.numpy() for v in variables])
        results[name] = gates
    print("GATES", results["one"] == results["two"])
""")

_MOMENTS = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[1])
    from tsvan_tf import trainer
    # A large mean and a small spread: where a one-pass variance cancels catastrophically.
    x = np.random.default_rng(0).normal(3.0, 0.01, size=(8, 5, 5, 4)).astype("float32")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = keras.Sequential([keras.layers.BatchNormalization()])
        model.build(x.shape)
    trainer._synchronize_batch_norm(trainer.Models(model, model, model))
    norm = model.layers[0]
    batch = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(x).batch(8))))
    moments = tf.function(lambda b: strategy.run(lambda v: norm._moments(v, None), args=(b,)))
    mean, variance = (strategy.experimental_local_results(m) for m in moments(batch))
    np.savez(sys.argv[2], x=x, mean=np.stack(mean), variance=np.stack(variance))
""")

_PRIORS = textwrap.dedent("""
    import os
    import sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[1])
    from tests.trainer_test import fixed_batch, tiny_configs
    from tsvan_tf import trainer
    # One step, pre-training's last: the priors are refreshed after it.
    model_config, loss_config, train_config = tiny_configs(
        total_steps=1, checkpoint_every=1, sample_every=100)
    model_config = model_config.replace(
        motion_prior="aggregate_posterior", motion_prior_size=2,
        content_prior="aggregate_posterior", content_prior_size=6)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    run = trainer.Trainer(model_config, loss_config.replace(pretrain_steps=1), train_config,
                          sys.argv[2], strategy=strategy, log_stream=open(os.devnull, "w"))
    batch = fixed_batch(model_config)
    clips = np.random.default_rng(3).uniform(
        -1, 1, size=(6, model_config.motion_noise_steps + 1, 16, 16, 3)).astype(np.float16)
    run.set_motion_prior_clips(clips, np.repeat(np.arange(3), 2))
    frames = batch["video"].numpy()[:2].reshape(-1, 16, 16, 3)[:6]
    run.set_content_prior_frames(frames, np.repeat(batch["label"].numpy()[:2], 4)[:6])
    run.train(tf.data.Dataset.from_tensors(batch).repeat())
    generator = run.models.generator
    mean, _ = generator.encode_motion(clips.astype(np.float32), np.repeat(np.arange(3), 2))
    np.savez(sys.argv[3], expected=mean.numpy().reshape(generator.motion_prior_mean.shape),
             motion=np.stack([v.numpy() for v in generator.motion_prior_mean.value.values]),
             content=np.stack([v.numpy() for v in generator.content_prior_mean.value.values]),
             samples=run.sample_videos())
""")

_WORKER = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from tests.trainer_test import tiny_configs
    from tsvan_tf import trainer
    model_config, loss_config, train_config = tiny_configs(
        strategy="multi_worker", total_steps=3, checkpoint_every=3, sample_every=3,
        log_every=1)
    loss_config = loss_config.replace(content_task_prob_start=1.0, content_task_prob_end=1.0)
    run = trainer.train(model_config.replace(num_classes=8), loss_config, train_config,
                        sys.argv[2], cache_dir=sys.argv[3])
    weights = run.models.generator.trainable_variables
    print("CHECKSUM", float(sum(np.abs(v.numpy()).sum() for v in weights)))
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


class DistributedTest(testing.TestCase):

    def _env(self, **extra):
        return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}

    @pytest.mark.large  # about 6 minutes on 2 cores: two trainers, three phases each
    def test_mirrored_two_replicas_equal_one(self):
        """Two replicas compute what one does: each phase's gradients, the gates, three steps.

        In float64 (the losses stay float32). In float32 the comparison is ill-posed, not just
        noisy: the gradient jumps wherever an activation crosses a ReLU kink, and an activation
        within float32 rounding of a kink lands on either side depending on the summation
        order. At commit f633708 one BatchNorm output before a ReLU (the video phase's
        branch3_shared_norm0, channel 7) was -3.8e-7 in float64 but +1.4e-6 on one float32
        replica, so that replica's video-phase gradient was the float64 one with this single
        ReLU switched on: up to 1.3e-2 of the scale off in 34 decoder variables (two float32
        replicas: 1.1e-4). And Adam's g / (|g| + 1e-7) turns float32 noise in near-zero
        gradients into whole steps: with the synthetic preset's identity kernels (zero loss
        gradient for G_m's trunk at init) the float32 weights differ by 1.9e-3 after three
        steps.
        """
        out = self.get_temp_dir()
        result = subprocess.run([sys.executable, "-c", _MIRRORED, str(REPO), out],
                                capture_output=True, text=True, env=self._env(), timeout=900,
                                check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        self.assertIn("GATES True", result.stdout)
        one, two = (np.load(os.path.join(out, f"{n}.npz")) for n in ("one", "two"))
        with open(os.path.join(out, "paths.txt")) as f:
            paths = f.read().split("\n")
        self.assertEqual(len(paths), len(one.files))
        # The gradients the optimizers receive agree to 1e-5 of their scale: 1.3e-7 at most
        # measured (the float32 losses' rounding), while a replica computing something else
        # (BatchNorm statistics per replica, say) differs by ~1 of the scale.
        grads_one, grads_two = (np.load(os.path.join(out, f"{n}_gradients.npz"))
                                for n in ("one", "two"))
        with open(os.path.join(out, "gradient_names.txt")) as f:
            names = f.read().split("\n")  # phases x sorted roles x variables
        self.assertEqual(len(names), len(grads_one.files))
        for key, name in zip(grads_one.files, names):
            scale = max(1.0, float(np.abs(grads_one[key]).max()))
            self.assertAllClose(grads_one[key], grads_two[key], atol=1e-5 * scale, rtol=0,
                                msg=name)
        # After three Adam steps (lr 1e-3) the weights agree to 1% of a step (2.1e-7 at most
        # measured), zero-gradient weights included (biases feeding a BatchNorm, G_m's trunk
        # under identity kernels): their float64 noise stays far below Adam's epsilon.
        for index, path in enumerate(paths):
            self.assertAllClose(one[f"arr_{index}"], two[f"arr_{index}"], atol=1e-5, rtol=0,
                                msg=path)

    def test_synchronized_batch_norm_moments_match_one_replica(self):
        path = os.path.join(self.get_temp_dir(), "moments.npz")
        result = subprocess.run([sys.executable, "-c", _MOMENTS, str(REPO), path],
                                capture_output=True, text=True, env=self._env(), timeout=300,
                                check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        out = np.load(path)
        x = out["x"].astype(np.float64)
        for replica in range(2):  # both replicas hold the global-batch statistics
            self.assertAllClose(out["mean"][replica], x.mean(axis=(0, 1, 2)), rtol=1e-6)
            # Keras's one-pass synchronized variance is 4% off here.
            self.assertAllClose(out["variance"][replica], x.var(axis=(0, 1, 2)), rtol=1e-5)

    def test_stored_priors_are_refreshed_on_every_replica(self):
        out = self.get_temp_dir()
        path = os.path.join(out, "priors.npz")
        result = subprocess.run([sys.executable, "-c", _PRIORS, str(REPO),
                                 os.path.join(out, "run"), path],
                                capture_output=True, text=True, env=self._env(), timeout=600,
                                check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        priors = np.load(path)
        for name in ("motion", "content"):  # filled, and the same on both replicas
            self.assertGreater(np.abs(priors[name][0]).max(), 1e-3, name)
            self.assertAllEqual(priors[name][0], priors[name][1])
        self.assertAllClose(priors["motion"][0], priors["expected"], atol=1e-5)
        self.assertTrue(np.all(np.isfinite(priors["samples"])))

    def test_multi_worker_on_localhost_agrees(self):
        ports = [_free_port(), _free_port()]
        cluster = {"worker": [f"localhost:{p}" for p in ports]}
        model_dir = os.path.join(self.get_temp_dir(), "mw")
        cache_dir = os.path.join(self.get_temp_dir(), "cache")
        processes = []
        for index in range(2):
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                                 "index": index}})
            processes.append(subprocess.Popen(
                [sys.executable, "-c", _WORKER, str(REPO), model_dir, cache_dir],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=self._env(TF_CONFIG=tf_config)))
        outputs = [p.communicate(timeout=900) for p in processes]
        for process, (stdout, stderr) in zip(processes, outputs):
            self.assertEqual(process.returncode, 0, stderr[-4000:])
        checksums = [float(stdout.split("CHECKSUM")[1]) for stdout, _ in outputs]
        self.assertAlmostEqual(checksums[0], checksums[1], places=3)
        self.assertTrue(pathlib.Path(model_dir, "checkpoints", "ckpt-3.index").exists())
        self.assertTrue(os.path.exists(os.path.join(model_dir, "config.json")))
