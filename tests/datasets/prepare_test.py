"""Tests of the prepare CLI and of resumption: a re-run after `kill -9`, a finished re-run."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import tensorflow as tf

from tests.datasets import paper_fixtures
from tsvan_tf import datasets
from tsvan_tf import testing
from tsvan_tf.datasets.clip_record import ClipRecord

_SMALL_SYNTHETIC = ["--seed=1", "--image_size=32", "--num_frames=10",
                    "--train_clips_per_class=3", "--test_clips_per_class=1"]
_KILL_TIMEOUT_S = 120


def run_prepare(args, **kwargs):
    """Runs `python -m tsvan_tf.datasets.prepare ARGS` and returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "tsvan_tf.datasets.prepare", *args],
                          capture_output=True, text=True, check=False, **kwargs)


def read_source_ids(manifest, split):
    return [ClipRecord.parse(s.numpy()).source_id
            for s in tf.data.TFRecordDataset(manifest.shard_paths(split))]


class PrepareCommandTest(testing.TestCase):

    def test_synthetic_then_rerun_does_nothing(self):
        output = os.path.join(self.get_temp_dir(), "synthetic")
        first = run_prepare(["--dataset=synthetic", f"--output={output}", "--num_workers=2",
                             *_SMALL_SYNTHETIC])
        self.assertEqual(first.returncode, 0, first.stderr[-3000:])
        self.assertIn("clips/s", first.stderr)
        manifest = datasets.read_manifest(output)
        self.assertEqual(manifest.num_clips("train"), 24)
        self.assertEqual(manifest.num_clips("test"), 8)
        second = run_prepare(["--dataset=synthetic", f"--output={output}", *_SMALL_SYNTHETIC])
        self.assertEqual(second.returncode, 0, second.stderr[-3000:])
        self.assertIn("already prepared", second.stderr)
        self.assertIn("nothing to do", second.stderr)

    def test_unknown_dataset_lists_the_known_ones(self):
        result = run_prepare(["--dataset=kinetics", f"--output={self.get_temp_dir()}"])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("Unknown dataset 'kinetics'. Known datasets: mug, synaction, synthetic, "
                      "video_folder, weizmann", result.stderr)

    def test_paper_dataset_command_with_its_own_options(self):
        source = os.path.join(self.get_temp_dir(), "mug")
        paper_fixtures.make_mug(source)
        output = os.path.join(self.get_temp_dir(), "mug_prepared")
        result = run_prepare(["--dataset=mug", f"--source={source}", f"--output={output}",
                              "--image_size=32", "--face_fraction=0.8",
                              "--min_sequence_frames=41", "--progress=false"])
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        manifest = datasets.read_manifest(output)
        self.assertEqual(manifest.options["face_fraction"], 0.8)
        self.assertEqual((manifest.resolution, manifest.crop_size), ((36, 36), (32, 32)))
        # The two 40-frame takes and the 30-frame one are too short for min_sequence_frames=41.
        self.assertLen(manifest.skipped, 3)
        self.assertEqual(manifest.num_clips("test"), 10)

    def test_option_the_source_does_not_take_is_refused(self):
        result = run_prepare(["--dataset=synthetic", f"--output={self.get_temp_dir()}",
                              "--test_fraction=0.3"])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("does not take option(s) ['test_fraction']", result.stderr)

    def test_missing_source_folder_fails_before_any_work(self):
        output = os.path.join(self.get_temp_dir(), "out")
        result = run_prepare(["--dataset=video_folder", f"--output={output}",
                              f"--source={self.get_temp_dir()}/nowhere"])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("nowhere does not exist", result.stderr)
        self.assertFalse(os.path.exists(output))

    def test_resume_after_kill(self):
        output = os.path.join(self.get_temp_dir(), "killed")
        args = ["--dataset=synthetic", f"--output={output}", "--clips_per_shard=4",
                "--progress=false", "--seed=2", "--image_size=64", "--num_frames=16",
                "--train_clips_per_class=8", "--test_clips_per_class=2"]
        process = subprocess.Popen([sys.executable, "-m", "tsvan_tf.datasets.prepare", *args],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _KILL_TIMEOUT_S
        while (len(glob.glob(os.path.join(output, "*.done.json"))) < 2
               and process.poll() is None and time.monotonic() < deadline):
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.assertFalse(os.path.exists(os.path.join(output, "manifest.json")),
                         "the run finished before it could be killed")
        # Every shard present is complete: it was renamed into place only when written.
        for shard in glob.glob(os.path.join(output, "*.tfrecord")):
            self.assertGreater(sum(1 for _ in tf.data.TFRecordDataset(shard)), 0)

        result = run_prepare(args)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        manifest = datasets.read_manifest(output)
        train, test = read_source_ids(manifest, "train"), read_source_ids(manifest, "test")
        self.assertLen(train, 64)
        self.assertLen(test, 16)
        self.assertLen(set(train + test), 80)  # no duplicates
        self.assertEmpty(glob.glob(os.path.join(output, ".*")))  # no temporary file left
        self.assertLen(glob.glob(os.path.join(output, "*.tfrecord")), 20)

    def test_incomplete_shard_is_redone_and_others_kept(self):
        output = os.path.join(self.get_temp_dir(), "partial")
        options = dict(seed=3, image_size=32, num_frames=10, train_clips_per_class=2,
                       test_clips_per_class=1, clips_per_shard=4, progress=False)
        manifest = datasets.prepare_dataset("synthetic", output, **options)
        shards = manifest.shard_paths("train")
        kept_mtime = os.stat(shards[1]).st_mtime_ns
        expected = sorted(read_source_ids(manifest, "train"))
        # Simulate a kill between writing shard 0 and recording it, before the manifest.
        os.remove(os.path.join(output, "manifest.json"))
        os.remove(shards[0] + ".done.json")
        with open(shards[0], "wb") as f:
            f.write(b"half a shard")
        resumed = datasets.prepare_dataset("synthetic", output, **options)
        self.assertEqual(os.stat(shards[1]).st_mtime_ns, kept_mtime)
        self.assertEqual(sorted(read_source_ids(resumed, "train")), expected)

    def test_manifest_is_json_with_the_documented_fields(self):
        output = os.path.join(self.get_temp_dir(), "fields")
        datasets.prepare_dataset("synthetic", output, seed=4, image_size=32, num_frames=10,
                                 train_clips_per_class=1, test_clips_per_class=1,
                                 progress=False)
        with open(os.path.join(output, "manifest.json"), encoding="utf-8") as f:
            data = json.load(f)
        self.assertEqual(
            set(data), {"format_version", "source", "class_names", "height", "width",
                        "image_format", "frame_strides", "crop_size", "crop_max_offset",
                        "crop_eval_offset", "splits", "skipped",
                        "actor_names", "options", "fingerprint"})
        self.assertEqual(data["options"]["seed"], 4)
        self.assertEqual(data["splits"]["train"]["num_clips"], 8)

    def test_shards_left_by_a_run_with_other_options_are_removed(self):
        output = os.path.join(self.get_temp_dir(), "stale")
        os.makedirs(output)
        stale = os.path.join(output, "train-00007-of-00009.tfrecord")
        with open(stale, "wb") as f:
            f.write(b"from an interrupted run with other options")
        unrelated = os.path.join(output, "notes.txt")
        with open(unrelated, "w", encoding="utf-8") as f:
            f.write("kept")
        datasets.prepare_dataset("synthetic", output, seed=5, image_size=32, num_frames=10,
                                 train_clips_per_class=1, test_clips_per_class=1,
                                 progress=False)
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(unrelated))
