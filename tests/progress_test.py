"""Tests of the progress bar."""

import io
from unittest import mock

from tsvan_tf import testing
from tsvan_tf.progress import ProgressBar


class ProgressBarTest(testing.TestCase):

    def test_log_lines_show_rate_eta_and_values(self):
        stream = io.StringIO()
        bar = ProgressBar(10, "train", initial=2, stream=stream, log_interval=0.0)
        bar.update(5, {"loss": 0.5})
        bar.close()
        lines = stream.getvalue().strip().splitlines()
        self.assertRegex(lines[0], r"^train 5/10 \( 50%\) [\d.]+ it/s elapsed 00:00 ETA .* loss=0.5$")
        self.assertLen(lines, 2)

    def test_rate_and_eta_follow_the_recent_steps(self):
        stream = io.StringIO()
        clock = mock.Mock(return_value=0.0)
        with mock.patch("tsvan_tf.progress.time.monotonic", clock):
            bar = ProgressBar(100, stream=stream, log_interval=0.0, rate_window=60.0)
            clock.return_value = 10.0
            bar.update(90)  # fast steps: 9 it/s
            clock.return_value = 100.0
            bar.update(91)  # then one step in 90 s
        last = stream.getvalue().strip().splitlines()[-1]
        # Over the last 60 s (since the sample at 10 s): 1 step in 90 s, 9 steps left.
        self.assertIn("0.01 it/s", last)
        self.assertIn("ETA 13:30", last)
