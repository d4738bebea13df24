"""Conformance helpers for tsvan_tf's layers and models (modelled on Keras's own test harness).

Every layer and model of the package is checked by the same helpers, so a new layer gets the
serialization, symbolic/eager, training and mixed-precision checks for free:

```python
class MyLayerTest(tsvan_tf.testing.TestCase):
    def test_layer_behaviors(self):
        self.run_layer_test(MyLayer, {"filters": 4}, input_shape=(2, 8, 8, 3),
                            expected_output_shape=(2, 8, 8, 4))
```
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized


def _as_shape_list(input_shape):
    """Returns `(shapes, is_multi_input)` for a shape tuple or a list of shape tuples."""
    if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (tuple, list)):
        return [tuple(s) for s in input_shape], True
    return [tuple(input_shape)], False


def _random_inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, size=s).astype("float32") for s in shapes]


def _to_numpy(x):
    return keras.ops.convert_to_numpy(x)


class TestCase(tf.test.TestCase, parameterized.TestCase):
    """`tf.test.TestCase` with the tsvan_tf conformance checks.

    Each test starts with the `float32` dtype policy and a clear Keras session, so a test that
    switches to mixed precision cannot leak into the next one.
    """

    def setUp(self):
        super().setUp()
        keras.config.set_dtype_policy("float32")
        keras.utils.clear_session()

    def tearDown(self):
        keras.config.set_dtype_policy("float32")
        super().tearDown()

    def assertAllCloseNumpy(self, actual, expected, atol=1e-6, rtol=1e-6, msg=None):
        """`assertAllClose` on anything `keras.ops.convert_to_numpy` accepts (any backend)."""
        np.testing.assert_allclose(_to_numpy(actual), _to_numpy(expected), atol=atol, rtol=rtol,
                                   err_msg=msg or "")

    def run_serialization_test(self, layer):
        """Checks the `get_config`/`from_config` and the JSON `serialize_keras_object` round trips."""
        config = layer.get_config()
        revived = layer.__class__.from_config(config)
        self.assertEqual(revived.get_config(), config)
        serialized = keras.saving.serialize_keras_object(layer)
        restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
        self.assertIsInstance(restored, layer.__class__)
        self.assertEqual(restored.get_config(), config)

    def run_layer_test(
        self,
        layer_cls,
        init_kwargs,
        input_shape,
        expected_output_shape,
        expected_num_trainable_weights=None,
        expected_num_non_trainable_weights=None,
        input_data=None,
        call_kwargs=None,
        run_training_check=True,
        run_mixed_precision_check=True,
    ):
        """Runs the standard checks on one layer class.

        Args:
            layer_cls: the layer class.
            init_kwargs: constructor arguments.
            input_shape: a shape tuple, or a list of shape tuples for a layer called on a list.
            expected_output_shape: the full output shape, batch included.
            expected_num_trainable_weights: if given, the number of trainable weights after build.
            expected_num_non_trainable_weights: if given, the number of non-trainable weights.
            input_data: optional arrays matching `input_shape` (random uniform in [-1, 1] if None).
            call_kwargs: extra keyword arguments for `call`.
            run_training_check: fit one step of a functional model around the layer.
            run_mixed_precision_check: call under `mixed_float16` and check dtypes.
        """
        call_kwargs = call_kwargs or {}
        shapes, multi = _as_shape_list(input_shape)
        arrays = list(input_data) if input_data is not None else _random_inputs(shapes)
        if not multi and input_data is not None and not isinstance(input_data, (list, tuple)):
            arrays = [input_data]

        def pack(xs):
            return list(xs) if multi else xs[0]

        # 1. Serialization round trips (before and after build).
        self.run_serialization_test(layer_cls(**init_kwargs))

        # 2. Symbolic call on KerasTensors, with and without a known batch size.
        layer = layer_cls(**init_kwargs)
        symbolic_inputs = [keras.Input(shape=s[1:], batch_size=s[0]) for s in shapes]
        symbolic_output = layer(pack(symbolic_inputs), **call_kwargs)
        self.assertEqual(tuple(symbolic_output.shape), tuple(expected_output_shape))
        self.assertEqual(
            tuple(layer.compute_output_shape(pack(shapes))), tuple(expected_output_shape)
        )
        unbatched = [keras.Input(shape=s[1:]) for s in shapes]
        self.assertEqual(
            tuple(layer_cls(**init_kwargs)(pack(unbatched), **call_kwargs).shape)[1:],
            tuple(expected_output_shape)[1:],
        )
        self.run_serialization_test(layer)

        # 3. Eager call.
        layer = layer_cls(**init_kwargs)
        output = layer(pack(arrays), **call_kwargs)
        self.assertEqual(tuple(output.shape), tuple(expected_output_shape))
        self.assertEqual(keras.backend.standardize_dtype(output.dtype), "float32")
        self.assertTrue(np.all(np.isfinite(_to_numpy(output))), "non-finite output")
        if expected_num_trainable_weights is not None:
            self.assertLen(layer.trainable_weights, expected_num_trainable_weights)
        if expected_num_non_trainable_weights is not None:
            self.assertLen(layer.non_trainable_weights, expected_num_non_trainable_weights)

        # 4. One training step of a functional model around the layer.
        if run_training_check:
            inputs = [keras.Input(shape=s[1:]) for s in shapes]
            model = keras.Model(pack(inputs), layer_cls(**init_kwargs)(pack(inputs), **call_kwargs))
            model.compile(optimizer="sgd", loss="mse", jit_compile="auto")
            target = np.zeros(expected_output_shape, dtype="float32")
            before = [_to_numpy(w).copy() for w in model.trainable_weights]
            history = model.fit(pack(arrays), target, batch_size=shapes[0][0], epochs=1, verbose=0)
            self.assertTrue(np.isfinite(history.history["loss"][0]))
            if before:
                changed = [
                    not np.array_equal(b, _to_numpy(w))
                    for b, w in zip(before, model.trainable_weights)
                ]
                self.assertTrue(any(changed), "one fit step changed no trainable weight")

        # 5. Mixed precision: float16 compute, float32 variables.
        if run_mixed_precision_check:
            layer = layer_cls(**init_kwargs, dtype="mixed_float16")
            output = layer(pack(arrays), **call_kwargs)
            self.assertEqual(keras.backend.standardize_dtype(output.dtype), "float16")
            for variable in layer.weights:
                self.assertEqual(
                    keras.backend.standardize_dtype(variable.dtype), "float32", variable.path
                )

    def run_model_saving_test(self, model, input_data, atol=1e-6, fresh_process=False,
                              call=None):
        """Saves `model` as `.keras`, loads it back and checks that outputs are equal.

        Args:
            model: a built Keras model.
            input_data: the input passed to `call`.
            atol: tolerance on the outputs.
            fresh_process: also load the file in a new Python process that imports only
                `keras` and `tsvan_tf` (as a user reopening a saved model would).
            call: `call(model, input_data) -> array`; defaults to `model(input_data)`.

        Returns:
            The loaded model (from this process).
        """
        call = call or (lambda m, x: m(x, training=False))
        expected = _to_numpy(call(model, input_data))
        tmp = self.get_temp_dir()
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        self.assertAllCloseNumpy(call(loaded, input_data), expected, atol=atol, rtol=0)
        if fresh_process:
            self.assertAllCloseNumpy(
                _call_in_fresh_process(path, input_data, tmp), expected, atol=atol, rtol=0
            )
        return loaded


_FRESH_PROCESS_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import tsvan_tf  # registers the package's serializable classes

    path, inputs_path, output_path = sys.argv[1:]
    data = np.load(inputs_path)
    inputs = [data[k] for k in sorted(data.files)]
    model = keras.saving.load_model(path)
    output = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    np.save(output_path, keras.ops.convert_to_numpy(output))
    """
)


def _call_in_fresh_process(model_path, input_data, tmp_dir):
    """Loads a `.keras` file in a new interpreter, calls it and returns the output."""
    inputs = list(input_data) if isinstance(input_data, (list, tuple)) else [input_data]
    inputs_path = os.path.join(tmp_dir, "inputs.npz")
    np.savez(inputs_path, **{f"x{i:03d}": _to_numpy(x) for i, x in enumerate(inputs)})
    output_path = os.path.join(tmp_dir, "output.npy")
    with tempfile.NamedTemporaryFile("w", suffix=".py", dir=tmp_dir, delete=False) as f:
        f.write(_FRESH_PROCESS_SCRIPT)
    result = subprocess.run(
        [sys.executable, f.name, model_path, inputs_path, output_path],
        capture_output=True, text=True, env=dict(os.environ), check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"loading in a fresh process failed:\n{result.stderr[-4000:]}")
    return np.load(output_path)
