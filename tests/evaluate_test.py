"""End-to-end tests of the evaluation: the smoke model scored by a tiny classifier."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf

from tests.metrics.fixtures import shared_classifier
from tests.trainer_test import tiny_configs
from tsvan_tf import testing
from tsvan_tf import trainer
from tsvan_tf.metrics import classifier_scores
from tsvan_tf.metrics.generator_evaluator import GeneratorEvaluator
from tsvan_tf.metrics.generator_evaluator import _clipped_videos
from tsvan_tf.metrics.model_evaluation import evaluate_model_dir
from tsvan_tf.metrics.model_evaluation import format_report
from tsvan_tf.metrics.trained_classifier import load_classifier
from tsvan_tf.models import TwoStreamVAN
from tsvan_tf.trained_model import ModelDirError
from tsvan_tf.trained_model import build_generator
from tsvan_tf.trained_model import load_trained_model
from tsvan_tf.trained_model import variables_trackable

STEP = 3


def write_model_dir(model_dir, manifest, with_checkpoint=True):
    """A training model_dir of the smoke model (configs/smoke.cfg) on `manifest`'s classes:
    `config.json` as the trainer writes it and a checkpoint of a fresh generator."""
    model_config, loss_config, train_config = tiny_configs()
    model_config = model_config.replace(num_classes=manifest.num_classes)
    trainer.check_or_write_config(model_dir, trainer.resolved_config(
        model_config, loss_config, train_config, manifest, False))
    if with_checkpoint:
        tf.keras.utils.set_random_seed(0)
        generator = TwoStreamVAN(model_config, name="generator")
        build_generator(generator, model_config)
        manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(generator=variables_trackable(generator)),
            os.path.join(model_dir, "checkpoints"), max_to_keep=1, checkpoint_name="ckpt")
        manager.save(checkpoint_number=STEP)


class EvaluateTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _, cls.data_dir, cls.manifest, cls.classifier_dir, _ = shared_classifier()
        cls.root = tempfile.mkdtemp(prefix="evaluate-test-")
        cls.model_dir = os.path.join(cls.root, "model")
        write_model_dir(cls.model_dir, cls.manifest)
        cls.report = evaluate_model_dir(cls.model_dir, cls.classifier_dir, num_per_class=2,
                                        seed=0, batch_size=8, first_frame_repetitions=1)
        cls.trained = load_trained_model(cls.model_dir)
        cls.classifier = load_classifier(cls.classifier_dir)

    def test_report_file(self):
        with open(os.path.join(self.model_dir, "eval.json")) as f:
            report = json.load(f)
        classifier = self.classifier
        self.assertEqual(report["model"]["checkpoint_step"], STEP)
        self.assertEqual(report["classifier"]["sha256"], classifier.sha256)
        num_classes = self.manifest.num_classes
        protocol = report["unconditional"]["protocol"]
        self.assertEqual(protocol["num_per_class"], 2)
        self.assertEqual(protocol["num_videos"], 2 * num_classes)
        self.assertEqual((protocol["frames"], protocol["resolution"], protocol["seed"]),
                         (4, 16, 0))
        self.assertEqual(protocol["warmup_frames"], 2)
        self.assertEqual(protocol["real_clips"], self.manifest.num_clips("test"))
        self.assertEqual(protocol["classifier_sha256"], classifier.sha256)
        self.assertEqual(protocol["checkpoint_step"], STEP)
        metrics = report["unconditional"]["metrics"]
        self.assertBetween(metrics["accuracy"], 0.0, 1.0)
        self.assertBetween(metrics["inception_score"], 1.0, num_classes)
        self.assertBetween(metrics["inter_entropy"], 0.0, np.log(num_classes) + 1e-6)
        self.assertGreaterEqual(metrics["classifier_frechet_distance"], 0.0)
        for name in self.manifest.class_names:
            self.assertIn(f"class_intra_entropy/{name}", metrics)
            self.assertBetween(metrics[f"accuracy/{name}"], 0.0, 1.0)
            self.assertGreaterEqual(metrics[f"classifier_frechet_distance/{name}"], 0.0)
        # A balanced sample: the overall accuracy is the mean of the per-class ones.
        self.assertAllClose(
            np.mean([metrics[f"accuracy/{name}"] for name in self.manifest.class_names]),
            metrics["accuracy"])
        first = report["first_frame"]
        self.assertEqual(first["protocol"]["num_videos"], self.manifest.num_clips("test"))
        self.assertEqual(first["protocol"]["repetitions"], 1)
        self.assertBetween(first["metrics"]["accuracy"], 0.0, 1.0)
        table = format_report(report)
        self.assertIn(f"unconditional: {2 * num_classes} videos (2 per class", table)
        self.assertRegex(table, r"inception_score\s+\d\.\d{4}")
        # A checkpoint before the run's last step says so (the run may still be training).
        total = tiny_configs()[2].total_steps
        self.assertGreater(total, STEP)
        self.assertEqual(report["model"]["run_total_steps"], total)
        self.assertIn(f"step {STEP} (not the run's final checkpoint: its config.json asks for "
                      f"{total} steps);", table)
        finished = {**report, "model": {**report["model"], "run_total_steps": STEP}}
        self.assertIn(f"step {STEP}; classifier", format_report(finished))

    def test_deterministic_per_seed_and_matches_a_direct_computation(self):
        trained, classifier = self.trained, self.classifier

        def evaluator(seed, batch_size):
            return GeneratorEvaluator(classifier, trained.model_config, trained.class_names, 2,
                                      seed, batch_size)

        first = evaluator(0, 8)(trained.generator)
        self.assertEqual(evaluator(0, 8)(trained.generator), first)
        self.assertEqual(first["accuracy"], self.report["unconditional"]["metrics"]["accuracy"])
        self.assertNotIn("classifier_frechet_distance", first)  # no real videos given
        self.assertNotEqual(evaluator(1, 8)(trained.generator), first)
        # One batch of all 16 videos, scored by hand with the formulas.
        sample = evaluator(0, 16)
        videos = _clipped_videos(trained.generator, sample.labels, sample.content_noise,
                                 sample.motion_noise).numpy()
        self.assertEqual(videos.shape, (16, 4, 16, 16, 3))
        self.assertBetween(videos.min(), -1.0, 1.0)
        probabilities = classifier.features_and_probabilities(videos)[1]
        self.assertAllClose(first["accuracy"],
                            np.mean(probabilities.argmax(1) == sample.labels))
        self.assertAllClose(first["inception_score"],
                            classifier_scores.inception_score(probabilities), rtol=1e-5)
        self.assertAllClose(first["intra_entropy"],
                            classifier_scores.intra_entropy(probabilities), rtol=1e-5)

    def test_incompatible_classifier_is_refused(self):
        trained, classifier = self.trained, self.classifier
        config = trained.model_config
        names = ("a",) * len(trained.class_names)
        with self.assertRaisesRegex(ValueError, r"trained for classes=\('move_right'.*but the "
                                                r"generator has classes=\('a'"):
            GeneratorEvaluator(classifier, config, names, 1, 0, 4)
        with self.assertRaisesRegex(ValueError, "trained for resolution=16, but the generator "
                                                "has resolution=32"):
            GeneratorEvaluator(classifier, config.replace(resolution=32), trained.class_names,
                               1, 0, 4)

    def test_missing_checkpoint(self):
        model_dir = os.path.join(self.root, "untrained")
        write_model_dir(model_dir, self.manifest, with_checkpoint=False)
        with self.assertRaisesRegex(ModelDirError, "has no checkpoint yet"):
            evaluate_model_dir(model_dir, self.classifier_dir, 1, 0, 4)
        with self.assertRaisesRegex(ModelDirError, "no checkpoint at step 7.*steps \\[3\\]"):
            evaluate_model_dir(self.model_dir, self.classifier_dir, 1, 0, 4, step=7)

    def test_cli(self):
        output = os.path.join(self.root, "cli", "eval.json")
        result = subprocess.run(
            [sys.executable, "-m", "tsvan_tf.evaluate", f"--model_dir={self.model_dir}",
             f"--classifier={self.classifier_dir}", "--num_per_class=1", "--batch_size=4",
             f"--output={output}"], capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn("evaluate 8/8", result.stderr)
        self.assertIn(f"step {STEP}", result.stdout)
        with open(output) as f:
            self.assertEqual(json.load(f)["unconditional"]["protocol"]["num_videos"], 8)
        missing = subprocess.run(
            [sys.executable, "-m", "tsvan_tf.evaluate", f"--model_dir={self.root}/none",
             f"--classifier={self.classifier_dir}"], capture_output=True, text=True, check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("is not a training model_dir", missing.stderr)
        self.assertNotIn("Traceback", missing.stderr)
        no_best = subprocess.run(
            [sys.executable, "-m", "tsvan_tf.evaluate", f"--model_dir={self.model_dir}",
             f"--classifier={self.classifier_dir}", "--best"],
            capture_output=True, text=True, check=False)
        self.assertEqual(no_best.returncode, 1)
        self.assertIn("has no checkpoint yet (looked in", no_best.stderr)
        self.assertIn("checkpoints_best); train it with --eval_every and --classifier",
                      no_best.stderr)


if __name__ == "__main__":
    tf.test.main()


class TrainWithEvaluationTest(testing.TestCase):
    """`--eval_every` with `--classifier`: metrics in TensorBoard, the best generator kept."""

    def test_training_evaluates_and_keeps_the_best_generator(self):
        _, data_dir, manifest, classifier_dir, _ = shared_classifier()
        model_config, loss_config, train_config = tiny_configs(
            total_steps=2, checkpoint_every=2, sample_every=2, eval_every=1,
            eval_samples_per_class=1)
        loss_config = loss_config.replace(content_task_prob_start=1.0, content_task_prob_end=1.0)
        model_config = model_config.replace(num_classes=manifest.num_classes)
        model_dir = os.path.join(self.get_temp_dir(), "run")
        with open(os.devnull, "w") as log:
            trainer.train(model_config, loss_config, train_config, model_dir, data_dir=data_dir,
                          log_stream=log, classifier_dir=classifier_dir)
        with open(os.path.join(model_dir, "checkpoints_best", "best.json")) as f:
            best = json.load(f)
        self.assertIn(best["step"], (1, 2))
        self.assertBetween(best["value"], 0.0, 1.0)
        self.assertEqual(best["metrics"]["accuracy"], best["value"])
        loaded = load_trained_model(model_dir, best=True)
        self.assertEqual(loaded.step, best["step"])
        report = evaluate_model_dir(model_dir, classifier_dir, 1, 0, 8, best=True)
        self.assertEqual(report["model"]["checkpoint_step"], best["step"])
        self.assertTrue(report["model"]["best"])
        self.assertIn("checkpoints_best", report["model"]["checkpoint_path"])
        self.assertAllClose(report["unconditional"]["metrics"]["accuracy"],
                            best["metrics"]["accuracy"])
        tags = set()
        for path in tf.io.gfile.glob(os.path.join(model_dir, "tensorboard", "events.*")):
            for event in tf.compat.v1.train.summary_iterator(path):
                tags.update(value.tag for value in event.summary.value)
        self.assertIn("eval/accuracy", tags)
        self.assertIn("eval/classifier_frechet_distance", tags)

    def test_classifier_of_other_frames_is_refused(self):
        _, data_dir, manifest, classifier_dir, _ = shared_classifier()
        model_config, loss_config, train_config = tiny_configs(eval_every=1)
        model_config = model_config.replace(num_classes=manifest.num_classes, frames=5)
        with self.assertRaisesRegex(trainer.TrainingError,
                                    "--classifier=.*trained for frames=4, but the generator "
                                    "has frames=5"):
            trainer.train(model_config, loss_config, train_config,
                          os.path.join(self.get_temp_dir(), "run"), data_dir=data_dir,
                          classifier_dir=classifier_dir)
