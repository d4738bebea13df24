"""Tests of the Frechet distance against closed forms and SciPy's matrix square root."""

import numpy as np
import tensorflow as tf

from tsvan_tf import testing
from tsvan_tf.metrics import frechet


class FrechetDistanceTest(testing.TestCase):

    def test_one_dimension_closed_form(self):
        # d^2 = (m1 - m2)^2 + (s1 - s2)^2 for standard deviations s1, s2.
        distance = frechet.frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]])
        self.assertAllClose(distance, 3.0 ** 2 + (2.0 - 3.0) ** 2)

    def test_diagonal_closed_form(self):
        rng = np.random.default_rng(0)
        m1, m2 = rng.normal(size=6), rng.normal(size=6)
        v1, v2 = rng.uniform(0.1, 3, size=6), rng.uniform(0.1, 3, size=6)
        expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
        self.assertAllClose(frechet.frechet_distance(m1, np.diag(v1), m2, np.diag(v2)),
                            expected)

    def test_full_covariances_match_scipy_sqrtm(self):
        linalg = self._scipy_linalg()
        rng = np.random.default_rng(1)
        a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
        s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
        m1, m2 = rng.normal(size=5), rng.normal(size=5)
        root = linalg.sqrtm(s1 @ s2).real
        expected = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * root)
        self.assertAllClose(frechet.frechet_distance(m1, s1, m2, s2), expected, rtol=1e-6)

    def test_identical_sets_give_zero_and_the_distance_is_symmetric(self):
        rng = np.random.default_rng(2)
        x, y = rng.normal(size=(50, 8)), rng.normal(loc=0.5, size=(30, 8))
        self.assertAllClose(frechet.frechet_distance_of_features(x, x), 0.0, atol=1e-8)
        self.assertAllClose(frechet.frechet_distance_of_features(x, y),
                            frechet.frechet_distance_of_features(y, x), rtol=1e-6)

    def test_fewer_samples_than_dimensions_stays_finite(self):
        rng = np.random.default_rng(3)
        x, y = rng.normal(size=(4, 16)), rng.normal(size=(3, 16)) + 1.0
        distance = frechet.frechet_distance_of_features(x, y)
        self.assertTrue(np.isfinite(distance))
        self.assertGreater(distance, 0.0)

    def test_statistics(self):
        x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
        mean, covariance = frechet.gaussian_statistics(x)
        self.assertAllClose(mean, [2.0, 4.0])
        self.assertAllClose(covariance, np.cov(x.T))

    def test_bad_shapes_raise(self):
        with self.assertRaisesRegex(ValueError, r"num_samples >= 2.*shape=\(1, 3\)"):
            frechet.gaussian_statistics(np.zeros((1, 3)))
        with self.assertRaisesRegex(ValueError, r"same d.*\(2,\), \(3,\)"):
            frechet.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))

    def _scipy_linalg(self):
        try:
            from scipy import linalg
        except ImportError:
            self.skipTest("SciPy is not installed (the reference sqrtm of this test only)")
        return linalg


if __name__ == "__main__":
    tf.test.main()
