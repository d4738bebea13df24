"""Tests of tsvan_tf.losses: value (hand-computed), dtype and patch-shaped inputs."""

import math

import keras
import numpy as np

from tsvan_tf import losses
from tsvan_tf import testing


def _bce(logit, target):
    return -(target * math.log(1 / (1 + math.exp(-logit)))
             + (1 - target) * math.log(1 - 1 / (1 + math.exp(-logit))))


class LossesTest(testing.TestCase):

    def assertScalarLoss(self, value, expected):
        self.assertEqual(tuple(value.shape), ())
        self.assertEqual(keras.backend.standardize_dtype(value.dtype), "float32")
        self.assertAllCloseNumpy(value, expected, atol=1e-5, rtol=1e-5)

    def test_adversarial_losses(self):
        real = np.array([2.0, -1.0], "float32")
        fake = np.array([0.5, -3.0], "float32")
        expected_real = (_bce(2.0, 1) + _bce(-1.0, 1)) / 2
        expected_fake = (_bce(0.5, 0) + _bce(-3.0, 0)) / 2
        self.assertScalarLoss(losses.discriminator_real_loss(real), expected_real)
        self.assertScalarLoss(losses.discriminator_fake_loss(fake), expected_fake)
        self.assertScalarLoss(losses.discriminator_adversarial_loss(real, fake),
                              expected_real + expected_fake)
        self.assertScalarLoss(losses.generator_adversarial_loss(fake),
                              (_bce(0.5, 1) + _bce(-3.0, 1)) / 2)

    def test_adversarial_losses_on_patches_and_large_logits(self):
        patches = np.zeros((2, 4, 4, 1), "float16")
        self.assertScalarLoss(losses.generator_adversarial_loss(patches), math.log(2))
        self.assertScalarLoss(losses.discriminator_real_loss(np.array([100.0, -100.0])), 50.0)

    def test_kl_divergence(self):
        mean = np.array([[1.0, 0.0], [0.0, 0.0]], "float32")
        log_var = np.array([[0.0, math.log(2.0)], [0.0, 0.0]], "float32")
        # Row 0: -0.5 * [(1 + 0 - 1 - 1) + (1 + log 2 - 0 - 2)] = 1 - 0.5 log 2; row 1: 0.
        self.assertScalarLoss(losses.kl_divergence(mean, log_var), (1 - 0.5 * math.log(2)) / 2)
        video = np.ones((2, 3, 4), "float32")  # rows = batch * time
        self.assertScalarLoss(losses.kl_divergence(video, np.zeros_like(video)), 2.0)

    def test_reconstruction_and_feature_matching(self):
        prediction = np.zeros((2, 4, 4, 3), "float32")
        target = np.full((2, 4, 4, 3), 0.5, "float32")
        self.assertScalarLoss(losses.reconstruction_loss(prediction, target), 0.25)
        features = [np.zeros((2, 3, 8, 8, 4), "float32"), np.ones((2, 3, 16, 16, 2), "float32")]
        targets = [np.ones((2, 3, 8, 8, 4), "float32"), np.ones((2, 3, 16, 16, 2), "float32")]
        self.assertScalarLoss(losses.feature_matching_loss(features, targets), 1.0)
        self.assertScalarLoss(losses.feature_matching_loss([], []), 0.0)
        with self.assertRaisesRegex(ValueError, "one map per scale"):
            losses.feature_matching_loss(features, targets[:1])

    def test_classification_loss(self):
        logits = np.array([[0.0, 0.0], [math.log(3.0), 0.0]], "float32")
        labels = np.array([0, 0])
        self.assertScalarLoss(losses.classification_loss(logits, labels),
                              (math.log(2.0) + math.log(4.0 / 3.0)) / 2)

    @testing.parameterized.named_parameters(
        ("balanced", 0.7, 0.7, True, True),
        ("discriminator_winning", 0.1, 0.7, False, True),
        ("discriminator_losing", 0.7, 1.3, True, False),
        ("both_out", 0.1, 1.3, True, True),
    )
    def test_equilibrium_gate(self, real, fake, expect_discriminator, expect_decoder):
        update_discriminator, update_decoder = losses.equilibrium_gate(real, fake, 0.68, 0.5)
        self.assertEqual(bool(keras.ops.convert_to_numpy(update_discriminator)),
                         expect_discriminator)
        self.assertEqual(bool(keras.ops.convert_to_numpy(update_decoder)), expect_decoder)
