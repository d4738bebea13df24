"""Tests of `ShardWriter`: a shard appears only when it is complete."""

import os

import numpy as np
import tensorflow as tf

from tsvan_tf import testing
from tsvan_tf.datasets.clip_record import ClipRecord
from tsvan_tf.datasets.shard_writer import ShardWriter


def _record(label):
    return ClipRecord.from_array(np.full((2, 4, 4, 3), label, np.uint8), label, "png")


class ShardWriterTest(testing.TestCase):

    def test_writes_records_then_renames(self):
        path = os.path.join(self.get_temp_dir(), "train-00000.tfrecord")
        with ShardWriter(path) as writer:
            for label in range(3):
                writer.write(_record(label))
            self.assertFalse(os.path.exists(path))  # not visible while being written
        self.assertEqual(writer.num_records, 3)
        labels = [ClipRecord.parse(s.numpy()).label for s in tf.data.TFRecordDataset(path)]
        self.assertEqual(labels, [0, 1, 2])
        self.assertEqual(os.listdir(self.get_temp_dir()), ["train-00000.tfrecord"])

    def test_error_leaves_nothing(self):
        folder = os.path.join(self.get_temp_dir(), "failed")
        os.makedirs(folder)
        path = os.path.join(folder, "train-00000.tfrecord")
        with self.assertRaises(RuntimeError):
            with ShardWriter(path) as writer:
                writer.write(_record(0))
                raise RuntimeError("decoder crashed")
        self.assertEmpty(os.listdir(folder))

    def test_replaces_an_old_shard_atomically(self):
        path = os.path.join(self.get_temp_dir(), "test-00000.tfrecord")
        with open(path, "wb") as f:
            f.write(b"half a shard from a killed run")
        with ShardWriter(path) as writer:
            writer.write(_record(5))
        self.assertEqual([ClipRecord.parse(s.numpy()).label
                          for s in tf.data.TFRecordDataset(path)], [5])

    def test_write_outside_with_raises(self):
        with self.assertRaisesRegex(RuntimeError, "inside `with ShardWriter"):
            ShardWriter(os.path.join(self.get_temp_dir(), "x.tfrecord")).write(_record(0))
