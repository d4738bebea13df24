"""Tests of ConvLSTMMotionAccumulator (spec 2.5)."""

import keras
import numpy as np
from absl.testing import parameterized

from tests.layers import reference
from tsvan_tf import testing
from tsvan_tf.layers import ConvLSTMMotionAccumulator


def _random(shape, seed):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


class ConvLSTMMotionAccumulatorTest(testing.TestCase):

    def test_layer_behaviors(self):
        self.run_layer_test(
            ConvLSTMMotionAccumulator,
            {"filters": 4, "kernel_size": 3},
            input_shape=(2, 3, 8, 8, 5),
            expected_output_shape=(2, 3, 8, 8, 4),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=0,
        )

    @parameterized.product(initial_state=["ones", "zeros"], forget_bias=[0.0, 1.0])
    def test_matches_formula(self, initial_state, forget_bias):
        layer = ConvLSTMMotionAccumulator(3, kernel_size=1, forget_bias=forget_bias,
                                          initial_state=initial_state,
                                          bias_initializer="random_normal")
        inputs = _random((2, 4, 5, 6, 2), 0)
        output = layer(inputs)
        kernel, bias = (_numpy(w) for w in layer.gates.weights)
        fill = np.ones if initial_state == "ones" else np.zeros
        state = fill((2, 5, 6, 3))
        expected = reference.conv_lstm_1x1(inputs, kernel, bias, forget_bias, state, state)
        self.assertAllCloseNumpy(output, expected, atol=1e-5, rtol=1e-5)

    def test_one_step_by_hand(self):
        # Zero kernel, bias (i, j, f, o) = (0, 0, 0, 0): every gate pre-activation is 0, so from
        # the ones state c1 = 1 * sigmoid(0 + forget_bias) + 0.5 * tanh(0) and h1 = tanh(c1) / 2.
        for forget_bias, initial_state in ((1.0, "ones"), (2.0, "ones"), (1.0, "zeros")):
            layer = ConvLSTMMotionAccumulator(
                1, forget_bias=forget_bias, initial_state=initial_state,
                kernel_initializer="zeros", bias_initializer="zeros")
            h = _numpy(layer(np.ones((1, 1, 2, 2, 1), "float32")))
            c0 = 1.0 if initial_state == "ones" else 0.0
            c1 = c0 / (1.0 + np.exp(-forget_bias))
            np.testing.assert_allclose(h, np.full_like(h, np.tanh(c1) * 0.5), rtol=1e-6)

    def test_initial_state_and_forget_bias_change_result(self):
        inputs = _random((2, 3, 4, 4, 2), 1)
        outputs = {}
        for initial_state in ("ones", "zeros"):
            for forget_bias in (0.0, 1.0):
                layer = ConvLSTMMotionAccumulator(
                    2, initial_state=initial_state, forget_bias=forget_bias,
                    kernel_initializer=keras.initializers.GlorotUniform(seed=3))
                outputs[initial_state, forget_bias] = _numpy(layer(inputs))
        keys = list(outputs)
        for a in range(len(keys)):
            for b in range(a + 1, len(keys)):
                self.assertGreater(np.abs(outputs[keys[a]] - outputs[keys[b]]).max(), 1e-3)

    def test_step_by_step_equals_sequence_call(self):
        layer = ConvLSTMMotionAccumulator(4, bias_initializer="random_normal")
        inputs = _random((2, 5, 6, 7, 3), 2)
        sequence = layer(inputs)
        state = layer.get_initial_state(2)
        steps = []
        for t in range(5):
            h, state = layer.step(inputs[:, t], state)
            steps.append(_numpy(h))
        self.assertAllCloseNumpy(np.stack(steps, axis=1), sequence, atol=1e-6, rtol=1e-6)

    def test_initial_state_argument_and_return_state(self):
        layer = ConvLSTMMotionAccumulator(4, return_state=True)
        inputs = _random((2, 6, 5, 5, 3), 3)
        full, (h_full, c_full) = layer(inputs)
        first, state = layer(inputs[:, :2])
        second, (h, c) = layer(inputs[:, 2:], initial_state=state)
        self.assertAllCloseNumpy(np.concatenate([_numpy(first), _numpy(second)], axis=1), full,
                                 atol=1e-6, rtol=1e-6)
        self.assertAllCloseNumpy(h, h_full, atol=1e-6, rtol=1e-6)
        self.assertAllCloseNumpy(c, c_full, atol=1e-6, rtol=1e-6)
        self.assertEqual(layer.compute_output_shape((2, 6, 5, 5, 3)),
                         ((2, 6, 5, 5, 4), [(2, 5, 5, 4), (2, 5, 5, 4)]))

    def test_unknown_time_steps(self):
        inputs = keras.Input((None, 4, 4, 2))
        layer = ConvLSTMMotionAccumulator(3)
        model = keras.Model(inputs, layer(inputs))
        data = _random((2, 5, 4, 4, 2), 4)
        self.assertAllCloseNumpy(model(data), layer(data), atol=1e-6, rtol=1e-6)

    def test_fit_alone_and_fresh_process_saving(self):
        inputs = keras.Input((3, 8, 8, 2))
        model = keras.Model(inputs, ConvLSTMMotionAccumulator(4, initial_state="zeros")(inputs))
        model.compile(optimizer="adam", loss="mse")
        data, target = _random((4, 3, 8, 8, 2), 5), np.zeros((4, 3, 8, 8, 4), "float32")
        losses = model.fit(data, target, epochs=5, batch_size=4, verbose=0).history["loss"]
        self.assertLess(losses[-1], losses[0])
        loaded = self.run_model_saving_test(model, data, fresh_process=True)
        self.assertEqual(loaded.layers[-1].initial_state, "zeros")

    def test_mixed_precision(self):
        layer = ConvLSTMMotionAccumulator(4, dtype="mixed_float16")
        output = layer(_random((2, 3, 8, 8, 2), 6))
        self.assertEqual(keras.backend.standardize_dtype(output.dtype), "float16")
        h, state = layer.step(_random((2, 8, 8, 2), 7), layer.get_initial_state(2))
        self.assertEqual(keras.backend.standardize_dtype(h.dtype), "float16")
        for variable in layer.weights:
            self.assertEqual(keras.backend.standardize_dtype(variable.dtype), "float32")

    def test_bad_filters_raises(self):
        with self.assertRaisesRegex(ValueError, r"Received: filters=0"):
            ConvLSTMMotionAccumulator(0)

    def test_even_kernel_size_raises(self):
        with self.assertRaisesRegex(ValueError, r"Received: kernel_size=4"):
            ConvLSTMMotionAccumulator(4, kernel_size=4)

    def test_bad_initial_state_raises(self):
        with self.assertRaisesRegex(ValueError, r"Received: initial_state='random'"):
            ConvLSTMMotionAccumulator(4, initial_state="random")

    def test_unknown_spatial_size_raises(self):
        with self.assertRaisesRegex(ValueError, r"known height, width and channels. Received: "
                                                r"input_shape=\(None, 3, None, 8, 2\)"):
            ConvLSTMMotionAccumulator(4)(keras.Input((3, None, 8, 2)))

    def test_wrong_rank_raises(self):
        with self.assertRaisesRegex(ValueError, r"expected ndim=5, found ndim=4"):
            ConvLSTMMotionAccumulator(4)(_random((2, 8, 8, 2), 0))

    def test_initial_state_before_build_raises(self):
        with self.assertRaisesRegex(ValueError, r"get_initial_state\(\) needs the layer's "
                                                r"spatial size"):
            ConvLSTMMotionAccumulator(4).get_initial_state(2)
