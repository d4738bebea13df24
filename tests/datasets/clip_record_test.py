"""Tests of `ClipRecord`, the one-Example-per-clip record format."""

import numpy as np
import tensorflow as tf

from tsvan_tf import testing
from tsvan_tf.datasets.clip_record import FEATURE_SPEC
from tsvan_tf.datasets.clip_record import ClipRecord


def _frames(num_frames=5, height=12, width=10, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (num_frames, height, width, 3),
                                                dtype=np.uint8)


class ClipRecordTest(testing.TestCase):

    def test_png_round_trip_is_lossless(self):
        frames = _frames()
        record = ClipRecord.from_array(frames, label=3, image_format="png", actor=7,
                                       source_id="walk/a.mp4")
        parsed = ClipRecord.parse(record.serialize())
        self.assertEqual(parsed, record)
        self.assertEqual(parsed.num_frames, 5)
        self.assertEqual((parsed.height, parsed.width), (12, 10))
        self.assertAllEqual(parsed.decode(), frames)

    def test_jpeg_round_trip_is_close(self):
        frames = np.repeat(np.linspace(0, 255, 16 * 16 * 3).reshape(1, 16, 16, 3), 3,
                           axis=0).astype(np.uint8)
        record = ClipRecord.from_array(frames, label=0, image_format="jpeg", jpeg_quality=95)
        self.assertTrue(all(f.startswith(b"\xff\xd8") for f in record.frames))
        self.assertLess(np.abs(record.decode().astype(int) - frames).mean(), 3)

    def test_parsed_in_graph_with_the_feature_spec(self):
        record = ClipRecord.from_array(_frames(), label=2, image_format="png")
        example = tf.io.parse_single_example(record.serialize(), FEATURE_SPEC)
        self.assertEqual(int(example["label"]), 2)
        self.assertEqual(int(example["num_frames"]), 5)
        self.assertEqual(int(example["actor"]), -1)
        decoded = tf.io.decode_png(example["frames"].values[4], channels=3)
        self.assertAllEqual(decoded, _frames()[4])

    def test_bad_frames_raise(self):
        with self.assertRaisesRegex(ValueError, r"\(time, height, width, 3\).*shape=\(4, 4, 3\)"):
            ClipRecord.from_array(np.zeros((4, 4, 3), np.uint8), 0, "png")
        with self.assertRaisesRegex(ValueError, "dtype=float32"):
            ClipRecord.from_array(np.zeros((2, 4, 4, 3), np.float32), 0, "png")

    def test_unknown_image_format_raises(self):
        with self.assertRaisesRegex(ValueError, "image_format='gif'"):
            ClipRecord.from_array(_frames(), 0, "gif")
