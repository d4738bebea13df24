"""Tests of the progress bar."""

import io

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
