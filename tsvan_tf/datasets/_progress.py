"""A one-line progress bar with a rate, written to stderr."""

import sys
import time


class _ProgressBar:
    """`[#####.....] 120/400 clips  85.3 clips/s  ETA 3s`, redrawn at most every `interval` s.

    Args:
        total: the number of units of work.
        unit: what is counted, e.g. `"clips"`.
        enabled: draw nothing when False.
        interval: minimum seconds between redraws.
        width: characters of the bar.
        stream: where to draw (stderr by default).
    """

    def __init__(self, total, unit, enabled=True, interval=0.2, width=30, stream=None):
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.interval = interval
        self.width = width
        self.stream = stream or sys.stderr
        self.count = 0
        self._start = time.monotonic()
        self._last_draw = 0.0

    def update(self, count=1):
        """Advances by `count` units and redraws if due."""
        self.count += count
        now = time.monotonic()
        if now - self._last_draw >= self.interval or self.count >= self.total:
            self._draw(now)

    def clear(self):
        """Erases the bar (call before printing a message), it reappears on the next update."""
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def close(self):
        """Draws the final state and ends the line."""
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    @property
    def rate(self):
        """Units per second since the start."""
        return self.count / max(time.monotonic() - self._start, 1e-9)

    def _draw(self, now):
        self._last_draw = now
        if not self.enabled:
            return
        fraction = self.count / self.total if self.total else 1.0
        filled = int(self.width * fraction)
        rate = self.rate
        eta = (self.total - self.count) / rate if rate > 0 else float("inf")
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.count}/{self.total} "
            f"{self.unit}  {rate:.1f} {self.unit}/s  ETA {eta:.0f}s\033[K"
        )
        self.stream.flush()
