"""Tests of the `synaction` source on a miniature tree with the real naming (no download)."""

import os
import shutil
import tempfile

from tests.datasets import paper_fixtures
from tsvan_tf import datasets
from tsvan_tf import testing
from tsvan_tf import trainer
from tsvan_tf.config import ModelConfig
from tsvan_tf.datasets import synaction

_IMAGE_SIZE = 16
# The miniature clips have 20 frames: one window of 4 frames at the largest stride (6) fits.
_MIN_FRAMES = 4


class SynActionSourceTest(testing.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="synaction-test-")
        cls.source = os.path.join(cls.root, "source")
        paper_fixtures.make_synaction(cls.source)
        cls.data_dir = os.path.join(cls.root, "prepared")
        cls.manifest = datasets.prepare_dataset(
            "synaction", cls.data_dir, source_dir=cls.source, progress=False,
            image_size=_IMAGE_SIZE, image_format="png", min_frames=_MIN_FRAMES)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def test_records_labels_and_class_order(self):
        manifest = self.manifest
        self.assertEqual(manifest.class_names[:5], ("bow", "cheer", "clap", "climb", "crossstep"))
        self.assertEqual(manifest.class_names, synaction.ACTIONS)
        self.assertLen(manifest.class_names, 20)
        self.assertEqual(manifest.actor_names, synaction.CHARACTERS)
        for split in ("train", "test"):
            for source_id, record in paper_fixtures.read_records(manifest, split).items():
                character, action, _, _ = source_id[:-len(".npy")].split("_")
                self.assertEqual(synaction.ACTIONS[record.label], action)
                self.assertEqual(synaction.CHARACTERS[record.actor], character)

    def test_view_split_by_hand(self):
        # Spec 6: the test view of (character, action, variant) is
        # ((character * 20 + action) * 2 + variant) mod 15.
        self.assertEqual(synaction.view_split(0, 0, 0, 0), "test")     # douglas bow 0: view 0
        self.assertEqual(synaction.view_split(0, 4, 0, 8), "test")     # douglas crossstep: 8
        self.assertEqual(synaction.view_split(9, 5, 1, 11), "test")    # swat hit 1: 371 % 15
        self.assertEqual(synaction.view_split(5, 18, 0, 11), "test")   # regina walk 0: 236 % 15
        self.assertEqual(synaction.view_split(5, 18, 1, 11), "train")  # its variant 1: view 12
        test = paper_fixtures.read_records(self.manifest, "test")
        train = paper_fixtures.read_records(self.manifest, "train")
        self.assertEqual(self.manifest.num_clips("test"), 21)   # 20 douglas + 1 of swat_hit_1
        self.assertEqual(self.manifest.num_clips("train"), 34)  # 20 douglas + 14 of swat_hit_1
        self.assertEqual([k for k in test if k.startswith("swat")], ["swat_hit_1_11.npy"])
        self.assertIn("douglas_bow_0_0.npy", test)
        self.assertIn("douglas_bow_0_1.npy", train)
        self.assertIn("douglas_crossstep_0_8.npy", test)
        self.assertIn("douglas_wave_0_8.npy", test)  # wave = 19: 38 % 15 = 8
        self.assertIn("douglas_wave_0_9.npy", train)

    def test_strides_and_crop(self):
        self.assertEqual(self.manifest.frame_strides,
                         (4, 2, 2, 2, 2, 6, 4, 6, 6, 4, 4, 6, 4, 4, 4, 4, 4, 4, 4, 4))
        # 71 x 71 clips, a 64 x 64 crop: at image_size 16, stored at round(16 * 71 / 64) = 18.
        self.assertEqual(self.manifest.resolution, (18, 18))
        self.assertEqual(self.manifest.crop_size, (_IMAGE_SIZE, _IMAGE_SIZE))
        windows = dict((synaction.ACTIONS[label], w) for label, w in
                       paper_fixtures.read_windows(self.data_dir, "test", frames=4))
        self.assertEqual(windows["hit"], [0, 6, 12, 18])
        self.assertEqual(windows["cheer"], [0, 2, 4, 6])
        self.assertEqual(windows["bow"], [0, 4, 8, 12])

    def test_crop_offsets_are_the_originals(self):
        # Spec 6: a 64 x 64 crop of the 71 x 71 frames, no resize, at offset 4 for testing and a
        # random offset in [0, 6] for training.
        source = os.path.join(self.get_temp_dir(), "positions")
        paper_fixtures.make_synaction(source, paper_fixtures.position_frames(
            paper_fixtures.SYNACTION_FRAMES, synaction.NATIVE_SIZE))
        data_dir = os.path.join(self.get_temp_dir(), "positions64")
        manifest = datasets.prepare_dataset("synaction", data_dir, source_dir=source,
                                            progress=False, image_format="png",
                                            min_frames=_MIN_FRAMES)
        self.assertEqual((manifest.crop_max_offset, manifest.crop_eval_offset), ((6, 6), (4, 4)))

        def offsets(split, num_batches):
            found = []
            batches = datasets.load_clips(data_dir, split, frames=4, batch_size=8, seed=0)
            for batch in batches.take(num_batches):
                found += [paper_fixtures.crop_offset((v[0] + 1.0) * 127.5)
                          for v in batch["video"].numpy()]
            return found

        self.assertEqual(set(offsets("test", 2)), {(4, 4)})
        train = offsets("train", 30)
        self.assertEqual({top for top, _ in train}, set(range(7)))
        self.assertEqual({left for _, left in train}, set(range(7)))

    def test_bad_files_skipped_and_listed(self):
        reasons = {s["path"]: s["reason"] for s in self.manifest.skipped}
        self.assertEqual(sorted(reasons), ["lola_dance_0_3.npy", "lola_wave_0_3.npy"])
        self.assertIn("array of shape (20, 71, 71); expected (T, 71, 71, 3)",
                      reasons["lola_wave_0_3.npy"])
        self.assertIn("not a SynAction clip name", reasons["lola_dance_0_3.npy"])

    def test_layout_errors_before_any_work(self):
        empty = os.path.join(self.get_temp_dir(), "empty")
        os.makedirs(empty)
        no_wave = os.path.join(self.get_temp_dir(), "no_wave")
        shutil.copytree(self.source, no_wave, ignore=shutil.ignore_patterns("*_wave_*"))
        cases = {
            empty: r"Expected SynAction clips named <character>_<action>_<variant>_<view>\.npy "
                   r".* found none \(it is empty\)",
            no_wave: r"No SynAction clip of action\(s\) \['wave'\]",
        }
        for source, message in cases.items():
            output = os.path.join(self.get_temp_dir(), "out")
            with self.assertRaisesRegex(ValueError, message):
                datasets.prepare_dataset("synaction", output, source_dir=source, progress=False)
            self.assertFalse(os.path.exists(output))

    def test_paper_flagfile_matches_the_manifest(self):
        preset = paper_fixtures.flagfile_preset("synaction")
        data_dir = os.path.join(self.get_temp_dir(), "synaction64")
        manifest = datasets.prepare_dataset("synaction", data_dir, source_dir=self.source,
                                            progress=False, min_frames=_MIN_FRAMES)
        self.assertEqual((manifest.resolution, manifest.crop_size), ((71, 71), (64, 64)))
        trainer.check_data(manifest, ModelConfig.from_preset(preset))
        with self.assertRaisesRegex(trainer.TrainingError, r"has 20 classes .* num_classes=6"):
            trainer.check_data(manifest, ModelConfig.from_preset("mug"))
