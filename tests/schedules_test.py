"""Tests of tsvan_tf.schedules."""

import keras
import numpy as np

from tsvan_tf import schedules
from tsvan_tf import testing
from tsvan_tf.config import LossConfig


class SchedulesTest(testing.TestCase):

    def test_linear_schedule_values(self):
        for step, expected in ((0, 2.0), (10, 2.0), (15, 3.0), (20, 4.0), (99, 4.0)):
            value = schedules.linear_schedule(step, 2.0, 4.0, 10, 20)
            self.assertAllCloseNumpy(value, expected)
            self.assertEqual(keras.backend.standardize_dtype(value.dtype), "float32")

    def test_tensor_step_and_step_change(self):
        step = keras.ops.convert_to_tensor(np.int64(12))
        self.assertAllCloseNumpy(schedules.linear_schedule(step, 0.0, 1.0, 10, 20), 0.2)
        self.assertAllCloseNumpy(schedules.linear_schedule(9, 0.0, 1.0, 10, 10), 0.0)
        self.assertAllCloseNumpy(schedules.linear_schedule(10, 0.0, 1.0, 10, 10), 1.0)
        with self.assertRaisesRegex(ValueError, "end_step=5"):
            schedules.linear_schedule(0, 0.0, 1.0, 10, 5)

    def test_paper_schedules(self):
        config = LossConfig()
        self.assertAllCloseNumpy(schedules.content_kl_weight(50_000, config), 7.0)
        self.assertAllCloseNumpy(schedules.video_kl_weight(275_000, config), 11.0)
        self.assertAllCloseNumpy(schedules.content_task_probability(0, config), 0.6)
        self.assertAllCloseNumpy(schedules.video_task_probability(75_000, config), 0.5)
        self.assertAllCloseNumpy(schedules.scheduled_sampling_probability(150_000, config), 1.0)
        self.assertAllCloseNumpy(schedules.scheduled_sampling_probability(400_000, config), 0.0)

    def test_pretraining_offsets_all_but_content_kl(self):
        config = LossConfig.from_preset("synaction")  # P = 300k, content KL 0 -> 7 over 0-100k
        self.assertAllCloseNumpy(schedules.content_kl_weight(50_000, config), 3.5)
        self.assertAllCloseNumpy(schedules.video_task_probability(300_000 + 75_000, config), 0.5)
        self.assertAllCloseNumpy(
            schedules.scheduled_sampling_probability(300_000 + 275_000, config), 0.5)
