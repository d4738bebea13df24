"""Runs the backend-agnostic test folders again under the JAX backend.

Keras picks its backend once per process, so the layer and model tests run a second time in a
subprocess with `KERAS_BACKEND=jax`; a failure there fails this test with the subprocess output.
"""

import os
import pathlib
import subprocess
import sys

from absl.testing import parameterized

from tsvan_tf import testing

TESTS_DIR = pathlib.Path(__file__).parent
BACKEND_AGNOSTIC_FOLDERS = ("layers", "models", "optimizers")


class JaxBackendTest(testing.TestCase):

    @parameterized.named_parameters((name, name) for name in BACKEND_AGNOSTIC_FOLDERS)
    def test_folder_passes_on_jax(self, folder):
        path = TESTS_DIR / folder
        if not path.is_dir():
            self.skipTest(f"tests/{folder} does not exist yet")
        env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path),
             # Parameter counts are backend-independent and take minutes of eager JAX init.
             f"--ignore={TESTS_DIR / 'models' / 'presets_test.py'}"],
            cwd=TESTS_DIR.parent, env=env, capture_output=True, text=True, check=False,
        )
        self.assertEqual(
            result.returncode, 0,
            f"tests/{folder} failed on the JAX backend:\n{result.stdout[-6000:]}\n"
            f"{result.stderr[-2000:]}",
        )
