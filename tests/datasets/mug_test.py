"""Tests of the `mug` source on a miniature tree with the real naming (no download)."""

import os
import shutil
import tempfile

from tests.datasets import paper_fixtures
from tsvan_tf import datasets
from tsvan_tf import testing
from tsvan_tf import trainer
from tsvan_tf.config import ModelConfig
from tsvan_tf.datasets import mug

_IMAGE_SIZE = 16


class MUGSourceTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="mug-test-")
        cls.source = os.path.join(cls.root, "source")
        paper_fixtures.make_mug(cls.source)
        cls.data_dir = os.path.join(cls.root, "prepared")
        cls.manifest = datasets.prepare_dataset(
            "mug", cls.data_dir, source_dir=cls.source, progress=False, image_size=_IMAGE_SIZE,
            image_format="png")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def test_records_labels_and_class_order(self):
        manifest = self.manifest
        self.assertEqual(manifest.class_names,
                         ("anger", "disgust", "fear", "happiness", "sadness", "surprise"))
        self.assertEqual(manifest.actor_names, ("001", "002"))
        self.assertEqual(manifest.num_clips("train"), 36)  # 2 subjects x 6 takes x 3 sub-clips
        self.assertEqual(manifest.num_clips("test"), 12)
        for split in ("train", "test"):
            for source_id, record in paper_fixtures.read_records(manifest, split).items():
                subject, expression, _ = source_id.split("/")
                self.assertEqual(mug.EXPRESSIONS[record.label], expression)
                self.assertEqual(manifest.actor_names[record.actor], subject)

    def test_interleaved_subclip_split_by_hand(self):
        # Spec 6: sub-clip k holds frames k, k+4, ...; sub-clips 0-2 train, 3 tests.
        train = paper_fixtures.read_records(self.manifest, "train")
        test = paper_fixtures.read_records(self.manifest, "test")
        self.assertEqual(paper_fixtures.mug_length("001", "anger"), 40)
        self.assertEqual(paper_fixtures.frame_indices(train["001/anger/take000#0"].decode()),
                         [0, 4, 8, 12, 16, 20, 24, 28, 32, 36])
        self.assertEqual(paper_fixtures.frame_indices(test["001/anger/take000#3"].decode()),
                         [3, 7, 11, 15, 19, 23, 27, 31, 35, 39])
        self.assertEqual(paper_fixtures.mug_length("002", "surprise"), 42)
        self.assertEqual(paper_fixtures.frame_indices(train["002/surprise/take000#1"].decode()),
                         [1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41])
        self.assertEqual(sorted(test), sorted(f"{s}/{e}/take000#3" for s in ("001", "002")
                                              for e in mug.EXPRESSIONS))
        self.assertEqual({k[-1] for k in train}, {"0", "1", "2"})

    def test_strides_and_crop(self):
        self.assertEqual(self.manifest.frame_strides, (1,) * 6)
        # The 90 % crop: frames stored at round(16 / 0.9) = 18, load_clips crops 16.
        self.assertEqual(self.manifest.resolution, (18, 18))
        self.assertEqual(self.manifest.crop_size, (_IMAGE_SIZE, _IMAGE_SIZE))
        windows = paper_fixtures.read_windows(self.data_dir, "test", frames=4)
        self.assertLen(windows, 12)
        self.assertTrue(all(w == [3, 7, 11, 15] for _, w in windows), windows)

    def test_short_sequence_skipped_and_other_expressions_ignored(self):
        reasons = {s["path"]: s["reason"] for s in self.manifest.skipped}
        self.assertEqual(reasons, {"001/anger/take001":
                                   "sequence of 30 frames; the paper uses sequences of >= 40"})
        records = paper_fixtures.read_records(self.manifest, "train")
        self.assertFalse([k for k in records if "neutral" in k])

    def test_layout_errors_before_any_work(self):
        weizmann_tree = os.path.join(self.get_temp_dir(), "weizmann")
        paper_fixtures.make_weizmann(weizmann_tree)
        no_fear = os.path.join(self.get_temp_dir(), "no_fear")
        shutil.copytree(self.source, no_fear, ignore=shutil.ignore_patterns("fear"))
        cases = {
            weizmann_tree: r"Expected the MUG layout <subject>/<expression>/<take>/<frame "
                           r"images> .* found no such take \(it holds 11 entries: README\.txt, "
                           r"bend/",
            no_fear: r"No MUG take of expression\(s\) \['fear'\]",
        }
        for source, message in cases.items():
            output = os.path.join(self.get_temp_dir(), "out")
            with self.assertRaisesRegex(ValueError, message):
                datasets.prepare_dataset("mug", output, source_dir=source, progress=False)
            self.assertFalse(os.path.exists(output))

    def test_paper_flagfile_matches_the_manifest(self):
        preset = paper_fixtures.flagfile_preset("mug")
        data_dir = os.path.join(self.get_temp_dir(), "mug64")
        manifest = datasets.prepare_dataset("mug", data_dir, source_dir=self.source,
                                            progress=False)
        self.assertEqual((manifest.resolution, manifest.crop_size), ((71, 71), (64, 64)))
        trainer.check_data(manifest, ModelConfig.from_preset(preset))
        with self.assertRaisesRegex(trainer.TrainingError, r"has 6 classes .* num_classes=10"):
            trainer.check_data(manifest, ModelConfig.from_preset("weizmann"))
