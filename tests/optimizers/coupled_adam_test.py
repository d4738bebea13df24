"""`CoupledAdam` against Adam's formula with the decay added to the gradient, written in NumPy."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np

from tsvan_tf import testing
from tsvan_tf.optimizers import CoupledAdam


def reference_steps(weights, gradients, learning_rate, l2, beta_1, beta_2, epsilon):
    """Coupled-decay Adam, one step per gradient, in Keras's form of the bias correction."""
    weights = [w.astype("float64") for w in weights]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    for t, step_gradients in enumerate(gradients, start=1):
        alpha = learning_rate * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        for i, g in enumerate(step_gradients):
            g = g + l2 * weights[i]
            m[i] = m[i] + (g - m[i]) * (1 - beta_1)
            v[i] = v[i] + (g * g - v[i]) * (1 - beta_2)
            weights[i] = weights[i] - alpha * m[i] / (np.sqrt(v[i]) + epsilon)
    return weights


def problem(seed=0, steps=4):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(6, 5)).astype("float32"), rng.normal(size=(5,)).astype("float32")]
    gradients = [[rng.normal(size=w.shape).astype("float32") for w in weights]
                 for _ in range(steps)]
    gradients[1] = [np.zeros_like(w) for w in weights]  # only the decay moves the weights here
    return weights, gradients


HYPER = dict(learning_rate=0.05, beta_1=0.5, beta_2=0.999, epsilon=1e-7)


class CoupledAdamTest(testing.TestCase):

    def _run(self, l2, optimizer=None):
        weights, gradients = problem()
        variables = [keras.Variable(w) for w in weights]
        optimizer = optimizer or CoupledAdam(l2=l2, **HYPER)
        for step_gradients in gradients:
            optimizer.apply([keras.ops.convert_to_tensor(g) for g in step_gradients], variables)
        return [keras.ops.convert_to_numpy(v) for v in variables], weights, gradients

    def test_matches_the_coupled_decay_formula(self):
        result, weights, gradients = self._run(l2=0.3)
        expected = reference_steps(weights, gradients, l2=0.3, **HYPER)
        for got, want in zip(result, expected):
            self.assertAllClose(got, want, rtol=1e-5, atol=1e-6)

    def test_decay_is_coupled_not_decoupled(self):
        """With l2 > 0 the decay passes through the moments: AdamW's result differs."""
        result, weights, gradients = self._run(l2=0.3)
        adamw, _, _ = self._run(0, keras.optimizers.AdamW(weight_decay=0.3, **HYPER))
        self.assertGreater(np.abs(result[0] - adamw[0]).max(), 1e-3)

    def test_without_decay_equals_keras_adam(self):
        result, _, _ = self._run(l2=0.0)
        keras_adam, _, _ = self._run(0, keras.optimizers.Adam(**HYPER))
        for got, want in zip(result, keras_adam):
            self.assertAllClose(got, want, rtol=1e-6, atol=1e-6)

    def test_amsgrad_keeps_keras_update(self):
        result, _, _ = self._run(0, CoupledAdam(amsgrad=True, **HYPER))
        keras_adam, _, _ = self._run(0, keras.optimizers.Adam(amsgrad=True, **HYPER))
        for got, want in zip(result, keras_adam):
            self.assertAllClose(got, want, rtol=1e-6, atol=1e-6)

    def test_negative_decay_is_refused(self):
        with self.assertRaisesRegex(ValueError, "l2=-0.1"):
            CoupledAdam(l2=-0.1)

    def test_config_round_trip(self):
        optimizer = CoupledAdam(l2=1e-5, name="motion_decoder", **HYPER)
        restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
        self.assertIsInstance(restored, CoupledAdam)
        self.assertEqual(restored.l2, 1e-5)
        self.assertEqual(restored.beta_1, 0.5)


_MIRRORED = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[1])
    from tests.optimizers.coupled_adam_test import HYPER, problem, reference_steps
    from tsvan_tf.optimizers import CoupledAdam

    weights, gradients = problem()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        variables = [keras.Variable(w) for w in weights]
        optimizer = CoupledAdam(l2=0.3, **HYPER)
        optimizer.build(variables)

    @tf.function
    def step(gradients):
        def replica_fn(gradients):
            # Each replica holds half the gradient; the optimizer sums them across replicas.
            optimizer.apply([g / 2 for g in gradients], variables)
        strategy.run(replica_fn, args=(gradients,))

    for step_gradients in gradients:
        step([tf.constant(g) for g in step_gradients])
    expected = reference_steps(weights, gradients, l2=0.3, **HYPER)
    for variable, want in zip(variables, expected):
        for replica_value in strategy.experimental_local_results(variable.value):
            np.testing.assert_allclose(replica_value.numpy(), want, rtol=1e-5, atol=1e-6)
    print("MIRRORED OK")
""")


class CoupledAdamDistributedTest(testing.TestCase):

    def test_fused_update_under_mirrored_strategy(self):
        """Under two replicas the fused kernel updates each replica's copy of the weights."""
        if keras.backend.backend() != "tensorflow":
            self.skipTest("tf.distribute is TensorFlow's")
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        result = subprocess.run(
            [sys.executable, "-c", _MIRRORED, root], capture_output=True, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, check=False)
        self.assertIn("MIRRORED OK", result.stdout, result.stderr[-4000:])
