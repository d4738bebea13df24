"""Tests of `python -m tsvan_tf.export`: the SavedModel contract as TF Serving clients see it.

The export is reloaded in a fresh process that imports only TensorFlow (as a serving host
would), inspected and run with `saved_model_cli`, and compared with the in-process generator.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import types
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from tsvan_tf import export_saved_model as export_lib
from tsvan_tf import media
from tsvan_tf import sampling
from tsvan_tf import testing
from tsvan_tf.models import SingleStreamVAN
from tsvan_tf.models import TwoStreamVAN
from tsvan_tf.trained_model import build_generator
from tsvan_tf.trained_model import load_trained_model

from tests.sampling_test import CLASS_NAMES
from tests.sampling_test import trained_model_dir

# Runs in a process that imports TensorFlow and NumPy only. Prints a JSON report (the signature
# contract, the class names, metadata and the messages of bad calls); saves the videos.
FRESH_PROCESS_SCRIPT = textwrap.dedent("""
    import json
    import sys

    import numpy as np
    import tensorflow as tf

    path, inputs_path, videos_path = sys.argv[1:]
    x = dict(np.load(inputs_path))
    model = tf.saved_model.load(path)
    generate, sample = model.signatures["generate"], model.signatures["sample"]
    report = {"signatures": {}, "errors": {}}
    for name, function in model.signatures.items():
        report["signatures"][name] = {
            "inputs": {k: [s.dtype.name, s.shape.as_list()]
                       for k, s in function.structured_input_signature[1].items()},
            "outputs": {k: [s.dtype.name, s.shape.as_list()]
                        for k, s in function.structured_outputs.items()},
        }
    label = tf.constant(x["label"])
    videos = {
        "generate": generate(label=label, content_noise=tf.constant(x["content"]),
                             motion_noise=tf.constant(x["motion"]))["video"],
        "generate_long": generate(label=label, content_noise=tf.constant(x["content"]),
                                  motion_noise=tf.constant(x["motion_long"]))["video"],
        "serving_default": model.signatures["serving_default"](
            label=label, content_noise=tf.constant(x["content"]),
            motion_noise=tf.constant(x["motion"]))["video"],
        "sample_7": sample(label=label, seed=tf.constant([7, 0]))["video"],
        "sample_7_again": sample(label=label, seed=tf.constant([7, 0]))["video"],
        "sample_8": sample(label=label, seed=tf.constant([8, 0]))["video"],
    }
    report["dtypes"] = {k: v.dtype.name for k, v in videos.items()}
    report["class_names"] = [n.decode() for n in model.signatures["class_names"]()["names"].numpy()]
    report["metadata"] = {k: int(v) for k, v in model.signatures["metadata"]().items()}
    c, m = x["content"], x["motion"]
    bad_calls = {
        "label": lambda: generate(label=tf.constant([0, 3, 1]), content_noise=c, motion_noise=m),
        "sample_label": lambda: sample(label=tf.constant([-1]), seed=tf.constant([0, 0])),
        "content_noise": lambda: generate(label=label, content_noise=c[:, :-1], motion_noise=m),
        "motion_noise": lambda: generate(label=label, content_noise=c, motion_noise=m[..., :-1]),
        "motion_steps": lambda: generate(label=label, content_noise=c, motion_noise=m[:, :1]),
        "batch": lambda: generate(label=label[:2], content_noise=c, motion_noise=m),
    }
    for name, call in bad_calls.items():
        try:
            call()
            report["errors"][name] = None
        except tf.errors.InvalidArgumentError as error:
            report["errors"][name] = error.message
    report["tsvan_tf_imported"] = any(name.startswith("tsvan_tf") for name in sys.modules)
    np.savez(videos_path, **{k: v.numpy() for k, v in videos.items()})
    print(json.dumps(report))
""")


def _run(command, **kwargs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600,
                          check=False, **kwargs)


class ExportTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model_dir = trained_model_dir()
        cls.export_dir = tempfile.mkdtemp(prefix="tsvan-export-test-")
        cls.addClassCleanup(shutil.rmtree, cls.export_dir, True)
        # The export under test is the command line's, as an operator would make it.
        cls.export_run = _run([sys.executable, "-m", "tsvan_tf.export",
                               f"--model_dir={cls.model_dir}", f"--export_dir={cls.export_dir}"])
        cls.path = os.path.join(cls.export_dir, "2")
        cls.trained = load_trained_model(cls.model_dir)
        cls.config = cls.trained.model_config

    def _inputs(self, batch=3, seed=0):
        rng = np.random.default_rng(seed)
        c = self.config
        return {
            "label": np.arange(batch, dtype=np.int32) % c.num_classes,
            "content": rng.normal(size=(batch, c.content_dim)).astype("float32"),
            "motion": rng.normal(size=(batch, c.motion_noise_steps, c.motion_dim)).astype(
                "float32"),
            "motion_long": rng.normal(size=(batch, c.motion_noise_steps + 3, c.motion_dim)
                                      ).astype("float32"),
        }

    def _generate(self, label, content, motion, generator=None):
        generator = generator or self.trained.generator
        return np.clip(generator.generate(tf.constant(label), tf.constant(content),
                                          tf.constant(motion)), -1.0, 1.0)

    def _sampled(self, label, seed):
        """What `sample(label, seed)` must give: the generator on `draw_noise`, as uint8."""
        content, motion = sampling.draw_noise(self.config, len(label), tf.constant(seed))
        return media.to_uint8(self._generate(label, content, motion))

    def test_cli_writes_the_version_directory_and_nothing_else(self):
        self.assertEqual(self.export_run.returncode, 0, self.export_run.stderr[-3000:])
        self.assertEqual(self.export_run.stdout.strip(), self.path)
        self.assertEqual(os.listdir(self.export_dir), ["2"])   # the step; no temporary left
        self.assertTrue(os.path.exists(os.path.join(self.path, "saved_model.pb")))
        with open(os.path.join(self.path, "assets.extra", "class_names.txt")) as f:
            self.assertEqual(f.read(), "wave\njump\nrun\n")

    def test_fresh_tensorflow_only_process_matches_the_model(self):
        inputs = self._inputs()
        tmp = self.get_temp_dir()
        inputs_path, videos_path = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
        np.savez(inputs_path, **inputs)
        script = os.path.join(tmp, "fresh.py")
        with open(script, "w") as f:
            f.write(FRESH_PROCESS_SCRIPT)
        result = _run([sys.executable, script, self.path, inputs_path, videos_path])
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        report = json.loads(result.stdout.strip().splitlines()[-1])
        videos = dict(np.load(videos_path))
        c, label = self.config, inputs["label"]
        self.assertFalse(report["tsvan_tf_imported"])

        # The contract: signature names, input and output names, dtypes and shapes.
        frame = [c.resolution, c.resolution, 3]
        noise_inputs = {"label": ["int32", [None]], "content_noise": ["float32", [None, None]],
                        "motion_noise": ["float32", [None, None, None]]}
        video_output = {"video": ["float32", [None, None, *frame]]}
        self.assertEqual(report["signatures"], {
            "generate": {"inputs": noise_inputs, "outputs": video_output},
            "serving_default": {"inputs": noise_inputs, "outputs": video_output},
            "generate_dict": {"inputs": noise_inputs, "outputs": video_output},
            "sample": {"inputs": {"label": ["int32", [None]], "seed": ["int32", [2]]},
                       "outputs": {"video": ["uint8", [None, c.frames, *frame]]}},
            "class_names": {"inputs": {}, "outputs": {"names": ["string", [3]]}},
            "metadata": {"inputs": {}, "outputs": {
                key: ["int64", []] for key in report["metadata"]}},
        })
        self.assertEqual(report["class_names"], list(CLASS_NAMES))
        self.assertEqual(report["metadata"], {
            "content_dim": c.content_dim, "motion_dim": c.motion_dim,
            "motion_noise_steps": c.motion_noise_steps, "frames": c.frames,
            "warmup_frames": c.warmup_frames, "resolution": c.resolution,
            "num_classes": c.num_classes, "step": 2})

        # generate: the in-process model's output, for the trained and for a longer T.
        expected = self._generate(label, inputs["content"], inputs["motion"])
        self.assertEqual(videos["generate"].shape, (3, c.frames, *frame))
        self.assertAllClose(videos["generate"], expected, atol=1e-5)
        self.assertAllEqual(videos["serving_default"], videos["generate"])
        self.assertEqual(videos["generate_long"].shape, (3, c.frames + 3, *frame))
        self.assertAllClose(videos["generate_long"],
                            self._generate(label, inputs["content"], inputs["motion_long"]),
                            atol=1e-5)

        # sample: uint8, reproducible per seed, other videos for another seed.
        self.assertEqual(report["dtypes"]["sample_7"], "uint8")
        self.assertAllEqual(videos["sample_7"], videos["sample_7_again"])
        self.assertGreater(np.abs(videos["sample_7"].astype(int) - videos["sample_8"]).max(), 2)
        self.assertLessEqual(
            np.abs(videos["sample_7"].astype(int) - self._sampled(label, [7, 0])).max(), 1)

        # Bad inputs fail inside the graph, naming the valid range or the expected shape.
        errors = report["errors"]
        self.assertRegex(errors["label"], r"`label` must hold class indices in \[0, 3\)")
        self.assertRegex(errors["label"], r"Received label:\] \[0 3 1\]")
        self.assertRegex(errors["sample_label"], r"in \[0, 3\).*\[-1\]")
        self.assertRegex(errors["content_noise"],
                         rf"`content_noise` must have shape \[B, {c.content_dim}\].*\[3 15\]")
        self.assertRegex(errors["motion_noise"],
                         rf"`motion_noise` must have shape \[B, T, {c.motion_dim}\]"
                         rf".*\[3 5 7\] \[3\]")
        self.assertRegex(errors["motion_steps"], r"T >= 2 .*\[3 1 8\]")
        self.assertRegex(errors["batch"], r"B the length of `label`.*\[3 16\] \[2\]")

    def test_saved_model_cli_show_and_run(self):
        cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
        shown = _run([*cli, "show", "--dir", self.path, "--all"])
        self.assertEqual(shown.returncode, 0, shown.stderr[-3000:])
        for name in ("generate", "generate_dict", "sample", "class_names", "metadata",
                     "serving_default"):
            self.assertIn(f"signature_def['{name}']", shown.stdout)
        sample = shown.stdout.split("signature_def['sample']")[1].split("signature_def[")[0]
        self.assertRegex(sample, r"inputs\['seed'\] tensor_info:\s+dtype: DT_INT32\s+"
                                 r"shape: \(2\)")
        self.assertRegex(sample, r"outputs\['video'\] tensor_info:\s+dtype: DT_UINT8\s+"
                                 rf"shape: \(-1, {self.config.frames}, 16, 16, 3\)")

        outdir = os.path.join(self.get_temp_dir(), "cli-run")
        ran = _run([*cli, "run", "--dir", self.path, "--tag_set", "serve",
                    "--signature_def", "sample", "--input_exprs", "label=[0,2];seed=[7,0]",
                    "--outdir", outdir])
        self.assertEqual(ran.returncode, 0, ran.stderr[-3000:])
        video = np.load(os.path.join(outdir, "video.npy"))
        self.assertEqual(video.dtype, np.uint8)
        self.assertLessEqual(
            np.abs(video.astype(int) - self._sampled(np.array([0, 2], np.int32), [7, 0])).max(),
            1)

    def test_tfsm_layer_calls_the_dict_endpoint(self):
        layer = keras.layers.TFSMLayer(self.path, call_endpoint="generate_dict")
        inputs = self._inputs(batch=2, seed=1)
        video = layer({"label": inputs["label"], "content_noise": inputs["content"],
                       "motion_noise": inputs["motion"]})["video"]
        self.assertAllClose(video, self._generate(inputs["label"], inputs["content"],
                                                  inputs["motion"]), atol=1e-5)

    @pytest.mark.large   # a second export (~30-70 s on 2 busy cores)
    def test_mixed_precision_model_exports_float32(self):
        keras.config.set_dtype_policy("mixed_float16")
        try:
            trained = load_trained_model(self.model_dir)
        finally:
            keras.config.set_dtype_policy("float32")
        self.assertEqual(trained.generator.compute_dtype, "float16")
        path = export_lib.export_saved_model(trained, os.path.join(self.get_temp_dir(), "mp"))
        loaded = tf.saved_model.load(path)
        inputs = self._inputs(batch=2, seed=2)
        video = loaded.signatures["generate"](
            label=tf.constant(inputs["label"]), content_noise=tf.constant(inputs["content"]),
            motion_noise=tf.constant(inputs["motion"]))["video"]
        self.assertEqual(video.dtype, tf.float32)
        self.assertAllClose(video, self._generate(inputs["label"], inputs["content"],
                                                  inputs["motion"]), atol=2e-2)
        sampled = loaded.signatures["sample"](label=tf.constant([1]), seed=tf.constant([3, 0]))
        self.assertEqual(sampled["video"].dtype, tf.uint8)

    def test_cli_errors_are_one_line(self):
        no_checkpoint = self.create_tempdir().full_path
        with open(os.path.join(self.model_dir, "config.json")) as src, \
                open(os.path.join(no_checkpoint, "config.json"), "w") as dst:
            dst.write(src.read())
        cases = {
            "existing version": ([f"--model_dir={self.model_dir}", "--version=2"],
                                 r"2 already exists and exports never overwrite a version"),
            "unknown step": ([f"--model_dir={self.model_dir}", "--checkpoint=9"],
                             r"has no checkpoint at step 9; it has steps \[1, 2\]"),
            "no checkpoint": ([f"--model_dir={no_checkpoint}"], r"has no checkpoint yet"),
            "no best checkpoint": ([f"--model_dir={self.model_dir}", "--best"],
                                   r"has no checkpoint yet \(looked in .*checkpoints_best\)"),
        }
        for name, (flags, message) in cases.items():
            result = _run([sys.executable, "-m", "tsvan_tf.export",
                           f"--export_dir={self.export_dir}", *flags])
            self.assertEqual(result.returncode, 1, name)
            self.assertRegex(result.stderr, r"\nerror: .*" + message + r".*\n$")
            self.assertNotIn("Traceback", result.stderr, name)
        self.assertEqual(os.listdir(self.export_dir), ["2"])

    def _check_while_loop_generation(self, generator, atol=1e-7):
        inputs = self._inputs(batch=2, seed=3)
        label, content = tf.constant(inputs["label"]), tf.constant(inputs["content"])
        run = tf.function(lambda *args: export_lib.generate_any_length(generator, *args))
        for motion in (inputs["motion"], inputs["motion_long"]):
            expected = generator.generate(label, content, tf.constant(motion))
            # Each motion step matters, so using a wrong one would show.
            other_order = generator.generate(label, content, tf.constant(motion[:, ::-1]))
            self.assertGreater(np.abs(expected - other_order).max(), 1e-5)
            self.assertAllClose(run(label, content, tf.constant(motion)), expected, atol=atol,
                                rtol=1e-5)

    def test_while_loop_generation_equals_generate(self):
        self._check_while_loop_generation(self.trained.generator)

    def test_while_loop_generation_with_the_motion_prior(self):
        config = self.config.replace(motion_prior="aggregate_posterior", motion_prior_size=2)
        generator = TwoStreamVAN(config)
        build_generator(generator, config)
        for name in ("content_encoder", "content_generator", "motion_encoder",
                     "motion_generator"):  # the trained weights, so that the noise matters
            getattr(generator, name).set_weights(
                getattr(self.trained.generator, name).get_weights())
        rng = np.random.default_rng(4)
        shape = generator.motion_prior_mean.shape
        generator.set_motion_prior(rng.normal(size=shape), rng.uniform(-2, 0, size=shape))
        # Graph and eager execution round the prior's codes differently (up to 2e-7 seen).
        self._check_while_loop_generation(generator, atol=1e-6)

    def test_while_loop_generation_of_the_single_stream_baseline(self):
        generator = SingleStreamVAN(self.config)
        build_generator(generator, self.config)
        # Fresh BatchNorm statistics (variance 1) shrink the output until the noise barely
        # matters; smaller variances make it count.
        for variable in generator.variables:
            if variable.path.endswith("moving_variance"):
                variable.assign(tf.fill(variable.shape, 1e-4))
        self._check_while_loop_generation(generator)

    def test_default_version_is_the_step_or_the_next_free_number(self):
        export_dir = self.get_temp_dir()
        self.assertEqual(export_lib.choose_version(export_dir, 5), 5)
        os.makedirs(os.path.join(export_dir, "5"))
        os.makedirs(os.path.join(export_dir, "notes"))
        self.assertEqual(export_lib.choose_version(export_dir, 5), 6)
        self.assertEqual(export_lib.choose_version(export_dir, 3), 3)
        self.assertEqual(export_lib.choose_version(export_dir, 5, version=9), 9)
        with self.assertRaisesRegex(export_lib.ExportError, "5 already exists"):
            export_lib.choose_version(export_dir, 1, version=5)
        with self.assertRaisesRegex(export_lib.ExportError, "non-negative"):
            export_lib.choose_version(export_dir, 1, version=-1)

    def test_failed_export_leaves_no_version_behind(self):
        def half_write(path, verbose):
            os.makedirs(path)
            open(os.path.join(path, "saved_model.pb"), "w").close()
            raise OSError("disk full")

        export_dir = os.path.join(self.get_temp_dir(), "failing")
        archive = mock.Mock(write_out=mock.Mock(side_effect=half_write))
        with mock.patch.object(export_lib, "build_export_archive", return_value=archive):
            with self.assertRaisesRegex(OSError, "disk full"):
                export_lib.export_saved_model(types.SimpleNamespace(step=4), export_dir)
        self.assertEqual(os.listdir(export_dir), [])
