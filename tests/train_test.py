"""End-to-end tests of `python -m tsvan_tf.train`: smoke run, resume, preemption, bad input."""

import copy
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

from PIL import Image

from tests.metrics.fixtures import tiny_dataset
from tsvan_tf import testing

REPO = pathlib.Path(__file__).resolve().parent.parent
SMOKE = str(REPO / "configs" / "smoke.cfg")
# One phase only where the test is about the loop's mechanics (traces one step function).
CONTENT_ONLY = ["--content_task_prob_start=1", "--content_task_prob_end=1"]


class TrainCliTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One synthetic dataset for every test of the class (prepared by the first run).
        cls.cache_dir = tempfile.mkdtemp(prefix="tsvan-cache-")

    def _command(self, model_dir, *extra):
        return [sys.executable, "-m", "tsvan_tf.train", f"--flagfile={SMOKE}",
                f"--model_dir={model_dir}", f"--cache_dir={self.cache_dir}", *extra]

    def _env(self):
        return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}

    def _run(self, model_dir, *extra, timeout=600):
        return subprocess.run(self._command(model_dir, *extra), capture_output=True, text=True,
                              env=self._env(), timeout=timeout, cwd=REPO, check=False)

    def _start(self, model_dir, *extra):
        log = open(os.path.join(self.get_temp_dir(), f"log-{time.monotonic_ns()}.txt"), "w+")
        process = subprocess.Popen(self._command(model_dir, *extra), stdout=log,
                                   stderr=subprocess.STDOUT, text=True, env=self._env(),
                                   cwd=REPO)
        return process, log

    @staticmethod
    def _wait_for_checkpoint(model_dir, at_least, process, timeout=600):
        index = pathlib.Path(model_dir, "checkpoints", "checkpoint")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if index.exists():
                steps = [int(p.name.split("-")[1].split(".")[0])
                         for p in index.parent.glob("ckpt-*.index")]
                if steps and max(steps) >= at_least:
                    return max(steps)
            time.sleep(0.2)
        raise AssertionError(f"no checkpoint >= {at_least} appeared (exit {process.poll()})")

    def test_smoke_run_writes_config_checkpoint_and_samples(self):
        model_dir = os.path.join(self.get_temp_dir(), "smoke")
        result = self._run(model_dir)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        with open(os.path.join(model_dir, "config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["model"]["resolution"], 16)
        # smoke.cfg's thread pools reach TensorFlow (set before its first op).
        self.assertIn("TensorFlow threads: 1 per op, 2 ops at once", result.stderr)
        self.assertEqual(config["model"]["num_classes"], len(config["class_names"]))
        checkpoints = pathlib.Path(model_dir, "checkpoints")
        self.assertTrue((checkpoints / "ckpt-6.index").exists(), os.listdir(checkpoints))
        gif = Image.open(os.path.join(model_dir, "samples", "latest.gif"))
        self.assertEqual(gif.n_frames, 4)  # frames=4
        classes = config["model"]["num_classes"]
        # One row per class, one column, each 16x16 video shown 8x (at least 128 px).
        self.assertEqual(gif.size, (128, classes * 130 - 2))
        self.assertTrue(os.path.exists(os.path.join(model_dir, "losses.png")))
        steps = [json.loads(line)["step"]
                 for line in open(os.path.join(model_dir, "losses.jsonl"))]
        self.assertEqual(steps, list(range(1, 7)))
        # Re-running a finished run does nothing harmful and says so.
        again = self._run(model_dir)
        self.assertEqual(again.returncode, 0, again.stderr[-3000:])
        self.assertIn("already complete", again.stderr)

    def test_sigterm_then_kill_then_resume(self):
        model_dir = os.path.join(self.get_temp_dir(), "resume")
        extra = [*CONTENT_ONLY, "--total_steps=40", "--checkpoint_every=5", "--sample_every=40"]
        # SIGTERM (preemption): a checkpoint at the current step, exit 143.
        process, log = self._start(model_dir, *extra)
        self._wait_for_checkpoint(model_dir, 5, process)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=300), 143)
        log.seek(0)
        output = log.read()
        self.assertRegex(output, r"Received SIGTERM: saved a checkpoint at step (\d+)")
        saved = int(output.split("saved a checkpoint at step ")[1].split()[0])
        self.assertTrue(pathlib.Path(model_dir, "checkpoints", f"ckpt-{saved}.index").exists())
        # kill -9 after the next checkpoint: the re-run resumes from the last one.
        process, _ = self._start(model_dir, *extra)
        killed_after = self._wait_for_checkpoint(model_dir, saved + 5, process)
        process.kill()
        process.wait(timeout=60)
        result = self._run(model_dir, *extra)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        resumed_at = int(result.stderr.split("Resuming training at step ")[1].split()[0])
        self.assertGreaterEqual(resumed_at, killed_after)
        self.assertTrue(pathlib.Path(model_dir, "checkpoints", "ckpt-40.index").exists())
        steps = [json.loads(line)["step"]
                 for line in open(os.path.join(model_dir, "losses.jsonl"))]
        self.assertEqual(steps, sorted(set(steps)), "a logged step is duplicated")
        self.assertEqual(steps[-1], 40)

    def test_unknown_flag_is_refused(self):
        result = self._run(os.path.join(self.get_temp_dir(), "x"), "--learning_rat=0.1")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("learning_rat", result.stderr)

    def test_contradictory_flag_is_refused(self):
        result = self._run(os.path.join(self.get_temp_dir(), "x"), "--num_classes=5",
                           "--dry_run")
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])  # dry run: no data check
        result = self._run(os.path.join(self.get_temp_dir(), "x"), "--resolution=20")
        self.assertEqual(result.returncode, 1)
        self.assertIn("`resolution` must be a multiple of 8", result.stderr)
        result = self._run(os.path.join(self.get_temp_dir(), "x"), "--eval_every=5",
                           "--dry_run")
        self.assertEqual(result.returncode, 1)
        self.assertIn("--eval_every and --classifier go together", result.stderr)

    def test_dry_run_checks_the_data(self):
        data_dir = os.path.join(self.get_temp_dir(), "data16")
        tiny_dataset(data_dir)  # 16x16 frames
        result = self._run(os.path.join(self.get_temp_dir(), "x"), f"--data_dir={data_dir}",
                           "--resolution=32", "--dry_run")
        self.assertEqual(result.returncode, 1, result.stderr[-2000:])
        self.assertIn("gives 16x16 frames, but the model config says resolution=32",
                      result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_missing_and_empty_data_dir(self):
        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty)
        for data_dir in (empty, os.path.join(self.get_temp_dir(), "missing")):
            result = self._run(os.path.join(self.get_temp_dir(), "m"), f"--data_dir={data_dir}")
            self.assertEqual(result.returncode, 1, result.stderr[-2000:])
            self.assertIn("manifest", result.stderr)
            self.assertNotIn("Traceback", result.stderr)

    def test_dry_run_prints_resolved_config(self):
        result = self._run(os.path.join(self.get_temp_dir(), "d"), "--dry_run",
                           "--batch_size=8")
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        config = json.loads(result.stdout)
        self.assertEqual(config["train"]["batch_size"], 8)
        self.assertEqual(config["model"]["frames"], 4)
        self.assertEqual(config["model"]["num_classes"], 8)  # from the synthetic data
        self.assertFalse(os.path.exists(os.path.join(self.get_temp_dir(), "d")))

    def test_batch_larger_than_dataset_is_refused(self):
        result = self._run(os.path.join(self.get_temp_dir(), "b"), "--batch_size=100000")
        self.assertEqual(result.returncode, 1, result.stderr[-2000:])
        self.assertIn("batch_size=100000 is larger than split 'train'", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class ShippedFlagfilesTest(testing.TestCase):

    def test_every_flagfile_resolves_to_valid_configs(self):
        from tsvan_tf import train

        flagfiles = sorted((REPO / "configs").glob("*.cfg"))
        self.assertIn("quickstart.cfg", [path.name for path in flagfiles])
        for path in flagfiles:
            with self.subTest(flagfile=path.name):
                flag_values = copy.deepcopy(train.FLAGS)
                flag_values(["train", f"--flagfile={path}"])
                model_config, _, _ = train.configs_from_flags(flag_values, num_classes=8)
                self.assertEqual(model_config.num_classes, 8)
