"""End-to-end tests of `python -m tsvan_tf.generate`: each output file opened and checked."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

import av
import numpy as np
from PIL import Image
from PIL import ImageSequence

from tsvan_tf import media
from tsvan_tf import sampling
from tsvan_tf import testing
from tsvan_tf.trained_model import load_trained_model

from tests.sampling_test import CLASS_NAMES
from tests.sampling_test import trained_model_dir

PADDING = 2   # the writers' white border between cells


def _grid_size(cells, side):
    return cells * (side + PADDING) - PADDING


def _gif_frames(path):
    with Image.open(path) as image:
        return np.stack([np.asarray(frame.convert("RGB"))
                         for frame in ImageSequence.Iterator(image)])


class GenerateCliTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model_dir = trained_model_dir()
        cls.config = load_trained_model(cls.model_dir).model_config
        cls.output_dir = tempfile.mkdtemp(prefix="tsvan-generate-test-")
        cls.addClassCleanup(shutil.rmtree, cls.output_dir, True)

    def _generate(self, output, *flags, model_dir=None):
        path = os.path.join(self.output_dir, output)
        result = subprocess.run(
            [sys.executable, "-m", "tsvan_tf.generate",
             f"--model_dir={model_dir or self.model_dir}", f"--output={path}", *flags],
            capture_output=True, text=True, timeout=600, check=False,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        return path, result

    def test_gif_has_one_row_per_class_and_depends_only_on_the_seed(self):
        flags = ["--label=all", "--num=2"]
        first, result = self._generate("all.gif", *flags, "--seed=1")
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        frames = _gif_frames(first)
        side = self.config.resolution * media.display_scale(self.config.resolution)
        self.assertEqual(frames.shape, (self.config.frames, _grid_size(3, side),
                                        _grid_size(2, side), 3))
        again, _ = self._generate("all-again.gif", *flags, "--seed=1")
        with open(first, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())
        other, result = self._generate("all-other.gif", *flags, "--seed=2")
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertGreater(np.abs(_gif_frames(other).astype(int) - frames).max(), 2)

    def test_png_grid_by_name_from_an_earlier_checkpoint(self):
        path, result = self._generate("jump.png", "--label=jump", "--num=3", "--seed=4",
                                      "--mode=fixed_content", "--checkpoint=1")
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn("step 1", result.stderr)
        image = np.asarray(Image.open(path).convert("RGB"))
        scale = media.display_scale(self.config.resolution)
        side, frames = self.config.resolution * scale, self.config.frames
        self.assertEqual(image.shape, (_grid_size(3, side), _grid_size(frames, side), 3))
        # Exactly what the library draws from checkpoint 1 (and not what the latest gives).
        label = CLASS_NAMES.index("jump")
        grids = {}
        for step in (1, 2):
            videos = sampling.sample_videos(load_trained_model(self.model_dir, step).generator,
                                            [label], 3, 4, mode="fixed_content")
            grids[step] = media.frame_strip_grid(videos[0], scale=scale).astype(int)
        self.assertLessEqual(np.abs(image - grids[1]).max(), 1)
        self.assertGreater(np.abs(image - grids[2]).max(), 1)

    def test_best_reads_checkpoints_best(self):
        # A run whose best generator (by classifier accuracy) is step 1, the latest step 2.
        model_dir = self.create_tempdir().full_path
        shutil.copy(os.path.join(self.model_dir, "config.json"), model_dir)
        shutil.copytree(os.path.join(self.model_dir, "checkpoints"),
                        os.path.join(model_dir, "checkpoints"))
        best_dir = os.path.join(model_dir, "checkpoints_best")
        os.makedirs(best_dir)
        for path in glob.glob(os.path.join(self.model_dir, "checkpoints", "ckpt-1.*")):
            shutil.copy(path, best_dir)
        with open(os.path.join(best_dir, "checkpoint"), "w") as f:  # the state file
            f.write('model_checkpoint_path: "ckpt-1"\nall_model_checkpoint_paths: "ckpt-1"\n')
        path, result = self._generate("best.png", "--label=jump", "--num=3", "--seed=4",
                                      "--mode=fixed_content", "--best", "--scale=1",
                                      model_dir=model_dir)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn("step 1", result.stderr)
        videos = sampling.sample_videos(load_trained_model(self.model_dir, 1).generator,
                                        [CLASS_NAMES.index("jump")], 3, 4, mode="fixed_content")
        image = np.asarray(Image.open(path).convert("RGB")).astype(int)
        self.assertLessEqual(np.abs(image - media.frame_strip_grid(videos[0])).max(), 1)
        _, result = self._generate("none-best.png", "--best")
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"\nerror: .* has no checkpoint yet \(looked in "
                                        r".*checkpoints_best\); train it with --eval_every and "
                                        r"--classifier\.\n$")

    def test_mp4_of_one_label_with_more_frames(self):
        path, result = self._generate("one.mp4", "--label=2", "--num=2", "--frames=6",
                                      "--scale=3")
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        with av.open(path) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        side = 3 * self.config.resolution
        self.assertEqual(len(frames), 6)
        self.assertEqual(frames[0].shape, (side, _grid_size(2, side), 3))

    def test_unknown_label_lists_the_valid_labels(self):
        path, result = self._generate("none.gif", "--label=dance")
        self.assertEqual(result.returncode, 1)
        self.assertIn("error: Unknown label 'dance'. Valid labels (index=name): 0=wave, 1=jump, "
                      "2=run.", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse(os.path.exists(path))

    def test_model_dir_without_checkpoint_says_so(self):
        model_dir = self.create_tempdir().full_path
        with open(os.path.join(self.model_dir, "config.json")) as src, \
                open(os.path.join(model_dir, "config.json"), "w") as dst:
            dst.write(src.read())
        _, result = self._generate("none.png", model_dir=model_dir)
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"\nerror: .* has no checkpoint yet .*train it first\.\n$")
        self.assertNotIn("Traceback", result.stderr)
