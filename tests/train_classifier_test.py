"""Tests of classifier training: the library loop (resume, hash) and the CLI end to end."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf

from tests.metrics.fixtures import TINY_CLASSIFIER
from tests.metrics.fixtures import tiny_classifier
from tests.metrics.fixtures import shared_classifier
from tsvan_tf import testing
from tsvan_tf.metrics.action_classifier import ActionClassifier
from tsvan_tf.metrics.trained_classifier import ClassifierDirError
from tsvan_tf.metrics.trained_classifier import load_classifier


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tsvan_tf.train_classifier", *args],
                          capture_output=True, text=True, check=False)


class TrainClassifierTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _, cls.data_dir, cls.manifest, cls.output, cls.info = shared_classifier()
        cls.root = tempfile.mkdtemp(prefix="train-classifier-test-")

    def test_trains_records_and_loads(self):
        info = self.info
        self.assertEqual([h["step"] for h in info["history"]], [2, 4])
        for record in info["history"]:
            self.assertTrue(np.isfinite(record["loss"]))
            self.assertBetween(record["accuracy"], 0.0, 1.0)
        self.assertEqual(info["class_names"], list(self.manifest.class_names))
        self.assertEqual(info["dataset"]["fingerprint"], self.manifest.fingerprint)
        with open(os.path.join(self.output, "classifier.json")) as f:
            self.assertEqual(json.load(f)["weights_sha256"], info["weights_sha256"])
        loaded = load_classifier(self.output)
        self.assertEqual(loaded.step, info["best_step"])
        self.assertEqual(loaded.sha256, info["weights_sha256"])
        # The weights moved away from a fresh initialisation with the same seed.
        fresh = ActionClassifier(loaded.config)
        self.assertNotAllClose(loaded.model.convs[0].kernel.numpy(),
                               fresh.convs[0].kernel.numpy())
        videos = np.zeros((2, 4, 16, 16, 3), "float32")
        features, probabilities = loaded.features_and_probabilities(videos)
        self.assertEqual(features.shape, (2, 4 * 8))
        self.assertAllClose(probabilities.sum(axis=1), [1.0, 1.0], atol=1e-5)

    def test_resumes_by_rerunning(self):
        output = os.path.join(self.root, "resumed")
        tiny_classifier(self.data_dir, output, total_steps=2)
        info = tiny_classifier(self.data_dir, output)
        self.assertEqual([h["step"] for h in info["history"]], [2, 4])
        again = tiny_classifier(self.data_dir, output)  # finished: nothing to do
        self.assertEqual(again["history"], info["history"])
        with self.assertRaisesRegex(ValueError, "other settings.*width: 4 -> 8"):
            tiny_classifier(self.data_dir, output, width=8)

    def test_altered_or_missing_weights_are_refused(self):
        output = os.path.join(self.root, "altered")
        info = tiny_classifier(self.data_dir, output, total_steps=2)
        prefix = os.path.join(output, "best", f"ckpt-{info['best_step']}")
        with open(prefix + ".index", "ab") as f:
            f.write(b"x")
        with self.assertRaisesRegex(ClassifierDirError, "SHA-256.*altered"):
            load_classifier(output)
        with self.assertRaisesRegex(ClassifierDirError, "classifier.json does not exist"):
            load_classifier(self.root)

    def test_cli(self):
        output = os.path.join(self.root, "cli")
        flags = [f"--data_dir={self.data_dir}", f"--output={output}", "--total_steps=2",
                 "--eval_every=1"] + [f"--{k}={v}" for k, v in TINY_CLASSIFIER.items()
                                      if k not in ("total_steps", "eval_every")]
        result = _cli(*flags)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertRegex(result.stderr, r"Held-out accuracy at step 2: \d\.\d{4}")
        self.assertIn("classifier 2/2", result.stderr)
        load_classifier(output)

    def test_cli_error_is_one_line(self):
        result = _cli(f"--output={self.root}/bad", f"--data_dir={self.data_dir}",
                      "--num_classes=3")
        self.assertEqual(result.returncode, 1)
        self.assertIn("--num_classes=3 contradicts the data, which has 8 classes",
                      result.stderr)
        self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
    tf.test.main()
