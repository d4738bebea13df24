"""Tests of `Manifest` and `read_manifest`."""

import json
import os
import types

from tsvan_tf import testing
from tsvan_tf.datasets.manifest import FORMAT_VERSION
from tsvan_tf.datasets.manifest import Manifest
from tsvan_tf.datasets.manifest import read_manifest


def _manifest():
    return Manifest(
        source="video_folder", class_names=("jump", "run"), height=64, width=48,
        image_format="jpeg",
        splits=types.MappingProxyType({"train": {
            "num_clips": 3, "shards": ["train-00000-of-00001.tfrecord"],
            "clips_per_class": [2, 1], "min_frames_per_class": [20, 31]}}),
        frame_strides=(1, 2), crop_size=(60, 44), crop_max_offset=(4, 3),
        crop_eval_offset=(2, 1), actor_names=("daria", "denis"),
        skipped=(types.MappingProxyType({"path": "run/x.mp4", "split": "train",
                                         "reason": "empty file (0 bytes)"}),),
        options=types.MappingProxyType({"test_fraction": 0.0}), fingerprint="abc")


class ManifestTest(testing.TestCase):

    def test_write_and_read_round_trip(self):
        manifest = _manifest()
        manifest.write(self.get_temp_dir())
        loaded = read_manifest(self.get_temp_dir())
        self.assertEqual(loaded, manifest)
        self.assertEqual(loaded.num_classes, 2)
        self.assertEqual(loaded.resolution, (64, 48))
        self.assertEqual(loaded.num_clips("train"), 3)
        self.assertEqual(loaded.num_clips("test"), 0)
        self.assertEqual(loaded.shard_paths("train"),
                         [os.path.join(self.get_temp_dir(), "train-00000-of-00001.tfrecord")])
        self.assertEqual(loaded.to_json_dict()["format_version"], FORMAT_VERSION)

    def test_optional_fields_default_when_absent(self):
        data = _manifest().to_json_dict()
        for key in ("actor_names", "crop_max_offset", "crop_eval_offset"):
            del data[key]
        with open(os.path.join(self.get_temp_dir(), "manifest.json"), "w") as f:
            json.dump(data, f)
        loaded = read_manifest(self.get_temp_dir())
        self.assertEqual((loaded.actor_names, loaded.crop_max_offset, loaded.crop_eval_offset),
                         ((), None, None))

    def test_is_frozen(self):
        with self.assertRaises(AttributeError):
            _manifest().height = 32

    def test_missing_manifest_raises(self):
        with self.assertRaisesRegex(ValueError, r"No manifest.json in data_dir=.*holds nothing"):
            read_manifest(self.get_temp_dir())
        with self.assertRaisesRegex(ValueError, "does not exist"):
            read_manifest(os.path.join(self.get_temp_dir(), "nowhere"))

    def test_other_format_version_raises(self):
        data = _manifest().to_json_dict()
        data["format_version"] = FORMAT_VERSION + 1
        with open(os.path.join(self.get_temp_dir(), "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(data, f)
        with self.assertRaisesRegex(ValueError, "Prepare the dataset again"):
            read_manifest(self.get_temp_dir())
