"""Tests of the spec 7.2 scores against hand-made softmaxes and slow loop references."""

import math

import numpy as np
import tensorflow as tf

from tsvan_tf import testing
from tsvan_tf.metrics import classifier_scores as scores


def _entropy_loop(row):
    return -sum(p * math.log(p) for p in row if p > 0)


def _reference(probabilities):
    """The spec 7.2 definitions, one video and one class at a time."""
    n, k = len(probabilities), len(probabilities[0])
    mean = [sum(row[j] for row in probabilities) / n for j in range(k)]
    kl = [sum(p * math.log(p / mean[j]) for j, p in enumerate(row) if p > 0)
          for row in probabilities]
    entropies = [_entropy_loop(row) for row in probabilities]
    predicted = [max(range(k), key=lambda j: row[j]) for row in probabilities]
    per_class = []
    for c in range(k):
        members = [entropies[i] for i in range(n) if predicted[i] == c]
        per_class.append(sum(members) / len(members) if members else float("nan"))
    return {"is": math.exp(sum(kl) / n), "intra": sum(entropies) / n,
            "inter": _entropy_loop(mean), "class_intra": per_class}


def _class_accuracy_loop(probabilities, labels):
    """Per conditioning class, the share of its videos whose argmax is that class."""
    k = len(probabilities[0])
    result = []
    for c in range(k):
        rows = [row for row, label in zip(probabilities, labels) if label == c]
        hits = [max(range(k), key=lambda j: row[j]) == c for row in rows]
        result.append(sum(hits) / len(rows) if rows else float("nan"))
    return result


class ClassifierScoresTest(testing.TestCase):

    def test_distinct_one_hots(self):
        k = 5
        probabilities = np.eye(k)
        self.assertAllClose(scores.inception_score(probabilities), k)
        self.assertAllClose(scores.intra_entropy(probabilities), 0.0)
        self.assertAllClose(scores.inter_entropy(probabilities), math.log(k))
        self.assertAllClose(scores.class_intra_entropy(probabilities), np.zeros(k))
        self.assertEqual(scores.accuracy(probabilities, np.arange(k)), 1.0)
        self.assertEqual(scores.accuracy(probabilities, np.roll(np.arange(k), 1)), 0.0)
        self.assertAllClose(scores.class_accuracy(probabilities, np.arange(k)), np.ones(k))
        self.assertAllClose(scores.class_accuracy(probabilities, np.roll(np.arange(k), 1)),
                            np.zeros(k))

    def test_identical_rows(self):
        row = np.array([0.7, 0.2, 0.1, 0.0])
        probabilities = np.tile(row, (6, 1))
        self.assertAllClose(scores.inception_score(probabilities), 1.0)
        self.assertAllClose(scores.intra_entropy(probabilities), _entropy_loop(row))
        self.assertAllClose(scores.inter_entropy(probabilities), _entropy_loop(row))
        self.assertAllClose(scores.class_intra_entropy(probabilities),
                            [_entropy_loop(row), np.nan, np.nan, np.nan])

    def test_uniform_rows(self):
        probabilities = np.full((3, 4), 0.25)
        self.assertAllClose(scores.inception_score(probabilities), 1.0)
        self.assertAllClose(scores.intra_entropy(probabilities), math.log(4))
        self.assertAllClose(scores.inter_entropy(probabilities), math.log(4))

    def test_two_classes_by_hand(self):
        # Two videos, each 3/4 sure of a different class: the mean is uniform, so KL_i =
        # log 2 - H(3/4, 1/4) and IS = 2 exp(-H(3/4, 1/4)).
        probabilities = np.array([[0.75, 0.25], [0.25, 0.75]])
        h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
        self.assertAllClose(scores.inception_score(probabilities), 2 * math.exp(-h))
        self.assertAllClose(scores.intra_entropy(probabilities), h)
        self.assertAllClose(scores.inter_entropy(probabilities), math.log(2))
        self.assertAllClose(scores.accuracy(probabilities, [0, 0]), 0.5)
        # Both videos conditioned on class 0, one classified as 0: class 1 has no video.
        self.assertAllClose(scores.class_accuracy(probabilities, [0, 0]), [0.5, np.nan])

    def test_matches_loop_reference_on_random_softmaxes(self):
        rng = np.random.default_rng(0)
        logits = rng.normal(scale=3.0, size=(40, 7))
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probabilities[:5] = np.eye(7)[:5]  # exact zeros take the 0 log 0 = 0 branch
        expected = _reference(probabilities.tolist())
        self.assertAllClose(scores.inception_score(probabilities), expected["is"])
        self.assertAllClose(scores.intra_entropy(probabilities), expected["intra"])
        self.assertAllClose(scores.inter_entropy(probabilities), expected["inter"])
        self.assertAllClose(scores.class_intra_entropy(probabilities), expected["class_intra"])
        labels = rng.integers(0, 6, size=40)  # class 6 gets no video
        self.assertAllClose(scores.class_accuracy(probabilities, labels),
                            _class_accuracy_loop(probabilities.tolist(), labels.tolist()))

    def test_bad_inputs_raise(self):
        with self.assertRaisesRegex(ValueError, r"shape \(num_videos, num_classes\).*"
                                                r"shape=\(4,\)"):
            scores.inception_score(np.full(4, 0.25))
        with self.assertRaisesRegex(ValueError, "summing to 1"):
            scores.intra_entropy(np.array([[2.0, -1.0]]))
        with self.assertRaisesRegex(ValueError, r"labels.shape=\(3,\)"):
            scores.accuracy(np.eye(2), [0, 1, 1])
        with self.assertRaisesRegex(ValueError, r"labels.shape=\(3,\)"):
            scores.class_accuracy(np.eye(2), [0, 1, 1])
        with self.assertRaisesRegex(ValueError, r"labels in \[0, 2\).*from 0 to 2"):
            scores.class_accuracy(np.eye(2), [0, 2])


if __name__ == "__main__":
    tf.test.main()
