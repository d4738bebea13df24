"""Runs the action classifier's tests again under the JAX backend (in a subprocess)."""

import os
import pathlib
import subprocess
import sys

import pytest

from tsvan_tf import testing

TESTS_DIR = pathlib.Path(__file__).parent


@pytest.mark.large  # the classifier tests again in a JAX subprocess (~25 s)
class ActionClassifierJaxTest(testing.TestCase):

    def test_classifier_tests_pass_on_jax(self):
        env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             str(TESTS_DIR / "action_classifier_test.py"),
             # Backend-independent, and minutes of eager JAX compilation at 64x64.
             "-k", "not original_geometry"],
            cwd=TESTS_DIR.parent.parent, env=env, capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, f"the classifier tests failed on the JAX backend:\n"
                         f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
        self.assertIn("passed", result.stdout)


if __name__ == "__main__":
    import tensorflow as tf

    tf.test.main()
