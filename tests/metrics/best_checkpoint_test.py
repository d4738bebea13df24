"""Tests of keeping the best checkpoint by a metric."""

import json
import os

import tensorflow as tf

from tsvan_tf import testing
from tsvan_tf.metrics.best_checkpoint import BestCheckpoint


class BestCheckpointTest(testing.TestCase):

    def test_keeps_the_best_across_restarts(self):
        directory = os.path.join(self.get_temp_dir(), "best")
        weight = tf.Variable(0.0)
        keeper = BestCheckpoint(directory, tf.train.Checkpoint(weight=weight))
        for step, accuracy, expected in ((10, 0.5, True), (20, 0.4, False), (30, 0.5, True)):
            weight.assign(float(step))
            self.assertEqual(keeper.update(step, {"accuracy": accuracy}), expected, step)
        restarted = BestCheckpoint(directory, tf.train.Checkpoint(weight=weight))
        self.assertFalse(restarted.update(40, {"accuracy": 0.45}))
        with open(os.path.join(directory, "best.json")) as f:
            self.assertEqual(json.load(f)["step"], 30)
        restored = tf.Variable(0.0)
        tf.train.Checkpoint(weight=restored).read(tf.train.latest_checkpoint(directory))
        self.assertEqual(float(restored.numpy()), 30.0)
        self.assertLen([f for f in os.listdir(directory) if f.endswith(".index")], 1)

    def test_lower_is_better_and_missing_metric(self):
        keeper = BestCheckpoint(self.get_temp_dir(), tf.train.Checkpoint(v=tf.Variable(1.0)),
                                metric="classifier_frechet_distance", higher_is_better=False)
        self.assertTrue(keeper.update(1, {"classifier_frechet_distance": 3.0}))
        self.assertFalse(keeper.update(2, {"classifier_frechet_distance": 4.0}))
        self.assertTrue(keeper.update(3, {"classifier_frechet_distance": 2.0}))
        with self.assertRaisesRegex(KeyError, "No 'classifier_frechet_distance'.*accuracy"):
            keeper.update(4, {"accuracy": 1.0})


if __name__ == "__main__":
    tf.test.main()
