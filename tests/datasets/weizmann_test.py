"""Tests of the `weizmann` source on a miniature tree with the real naming (no download)."""

import json
import os
import pathlib
import shutil
import tempfile

from tests.datasets import paper_fixtures
from tsvan_tf import datasets
from tsvan_tf import testing
from tsvan_tf import trainer
from tsvan_tf.config import ModelConfig
from tsvan_tf.datasets import weizmann

_IMAGE_SIZE = 16


class WeizmannSourceTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="weizmann-test-")
        cls.source = os.path.join(cls.root, "source")
        paper_fixtures.make_weizmann(cls.source)
        cls.data_dir = os.path.join(cls.root, "prepared")
        cls.manifest = datasets.prepare_dataset(
            "weizmann", cls.data_dir, source_dir=cls.source, progress=False,
            image_size=_IMAGE_SIZE, image_format="png")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def test_records_labels_and_class_order(self):
        manifest = self.manifest
        self.assertEqual(manifest.class_names, weizmann.ACTIONS)
        self.assertEqual(manifest.actor_names, weizmann.ACTORS)
        self.assertEqual(manifest.num_clips("train"), 20)  # 2 actors x 10 actions
        self.assertEqual(manifest.num_clips("test"), 20)
        for split in ("train", "test"):
            for source_id, record in paper_fixtures.read_records(manifest, split).items():
                actor, action = os.path.basename(source_id)[:-len(".avi")].split("_")
                if action not in weizmann.ACTIONS:  # lena_run1.avi
                    action = action[:-1]
                self.assertEqual(weizmann.ACTIONS[record.label], action)
                self.assertEqual(weizmann.ACTORS[record.actor], actor)

    def test_temporal_split_by_hand(self):
        # Spec 6: train = the first floor(2/3 n) frames, test = the rest; a test part shorter
        # than one window (T=10 at the action's stride) starts window + 1 frames before the end.
        expected = {  # source_id: (frames, train range, test range)
            "bend/daria_bend.avi": (30, range(0, 20), range(10, 30)),  # 10 <= 19: moved back
            "run/daria_run.avi": (36, range(0, 24), range(24, 36)),    # stride 1: 12 > 10
            "walk/lena_walk.avi": (32, range(0, 21), range(12, 32)),
            "run/lena_run1.avi": (41, range(0, 27), range(27, 41)),
        }
        train = paper_fixtures.read_records(self.manifest, "train")
        test = paper_fixtures.read_records(self.manifest, "test")
        for source_id, (length, train_range, test_range) in expected.items():
            actor, action = os.path.basename(source_id)[:-len(".avi")].split("_")
            self.assertEqual(paper_fixtures.weizmann_length(actor, action.rstrip("1")), length)
            self.assertEqual(paper_fixtures.frame_indices(train[source_id].decode()),
                             list(train_range))
            self.assertEqual(paper_fixtures.frame_indices(test[source_id].decode()),
                             list(test_range))
        self.assertEqual(weizmann.split_frames(90, "train", 19), (0, 60))
        self.assertEqual(weizmann.split_frames(90, "test", 19), (60, 90))

    def test_crop_and_stored_size(self):
        # (H - 5) x (W - 5) of 144 x 180 resized to 16: the whole frame is stored at 17 x 16.
        self.assertEqual(self.manifest.crop_size, (_IMAGE_SIZE, _IMAGE_SIZE))
        self.assertEqual(self.manifest.resolution, (17, 16))

    def test_strides_applied_by_load_clips(self):
        self.assertEqual(self.manifest.frame_strides, (2, 2, 2, 2, 2, 2, 1, 1, 1, 2))
        windows = paper_fixtures.read_windows(self.data_dir, "test", frames=4)
        self.assertLen(windows, 20)
        bend = weizmann.ACTIONS.index("bend")
        run = weizmann.ACTIONS.index("run")
        self.assertCountEqual([w for label, w in windows if label == bend],
                              [[10, 12, 14, 16], [15, 17, 19, 21]])  # daria 30, lena 35 frames
        self.assertCountEqual([w for label, w in windows if label == run],
                              [[24, 25, 26, 27], [27, 28, 29, 30]])

    def test_duplicate_take_and_bad_files_are_skipped_and_listed(self):
        reasons = {s["path"]: s["reason"] for s in self.manifest.skipped}
        self.assertIn("second take of lena_run: run/lena_run1.avi is used",
                      reasons["run/lena_run2.avi"])
        self.assertIn("cannot decode", reasons["bend/ido_bend.avi"])
        self.assertIn("not a Weizmann video", reasons["README.txt"])

    def test_layout_errors_before_any_work(self):
        mug_tree = os.path.join(self.get_temp_dir(), "mug")
        paper_fixtures.make_mug(mug_tree)
        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty)
        no_bend = os.path.join(self.get_temp_dir(), "no_bend")
        shutil.copytree(self.source, no_bend, ignore=shutil.ignore_patterns("bend"))
        cases = {
            mug_tree: r"Expected Weizmann videos named <actor>_<action>\.avi .* found none "
                      r"\(it holds 2 entries: 001/, 002/\)",
            empty: r"found none \(it is empty\)",
            no_bend: r"No Weizmann video of action\(s\) \['bend'\]",
        }
        for source, message in cases.items():
            output = os.path.join(self.get_temp_dir(), "out")
            with self.assertRaisesRegex(ValueError, message):
                datasets.prepare_dataset("weizmann", output, source_dir=source, progress=False)
            self.assertFalse(os.path.exists(output))

    def test_paper_flagfile_matches_the_manifest(self):
        preset = paper_fixtures.flagfile_preset("weizmann")
        data_dir = os.path.join(self.get_temp_dir(), "weizmann64")
        manifest = datasets.prepare_dataset("weizmann", data_dir, source_dir=self.source,
                                            progress=False)
        self.assertEqual((manifest.resolution, manifest.crop_size), ((66, 66), (64, 64)))
        trainer.check_data(manifest, ModelConfig.from_preset(preset))
        with self.assertRaisesRegex(trainer.TrainingError,
                                    r"gives 16x16 frames, but the model config says "
                                    r"resolution=64"):
            trainer.check_data(self.manifest, ModelConfig.from_preset(preset))
        with self.assertRaisesRegex(trainer.TrainingError, r"has 10 classes .* num_classes=6"):
            trainer.check_data(manifest, ModelConfig.from_preset("mug"))

    def test_smoke_training_on_prepared_weizmann(self):
        # Two content steps of the smoke model (one traced step function keeps it short); the
        # number of classes and their names come from the manifest.
        model_dir = os.path.join(self.get_temp_dir(), "run")
        result = paper_fixtures.run_module("tsvan_tf.train", [
            "--flagfile=configs/smoke.cfg", f"--data_dir={self.data_dir}",
            f"--model_dir={model_dir}", "--total_steps=2", "--checkpoint_every=2",
            "--sample_every=100", "--content_task_prob_start=1", "--content_task_prob_end=1"])
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        with open(os.path.join(model_dir, "config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["class_names"], list(weizmann.ACTIONS))
        self.assertEqual(config["model"]["num_classes"], 10)
        self.assertTrue(pathlib.Path(model_dir, "checkpoints", "ckpt-2.index").exists())
