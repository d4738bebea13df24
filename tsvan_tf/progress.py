"""A dependency-free progress bar for long jobs (training, preparing data, evaluation)."""

import collections
import sys
import time


def _format_duration(seconds):
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class ProgressBar:
    """Prints `step/total`, rate, ETA and named values, in place on a terminal.

    The rate (and the ETA from it) is measured over the last `rate_window` seconds, so that it
    follows a job whose steps change speed (training's fast pre-training steps, then slower
    motion steps) instead of averaging over the whole run.

    On a terminal the line is redrawn at most every `min_interval` seconds; otherwise (a log file,
    CI) one line is printed every `log_interval` seconds, so logs stay readable.

    Args:
        total: the number of steps at completion.
        description: a short label printed first.
        initial: the step the bar starts at (e.g. when resuming).
        unit: the name of one step in the rate (`it`, `clips`, ...).
        stream: where to write (defaults to `sys.stderr`).
        min_interval: seconds between redraws on a terminal.
        log_interval: seconds between lines when not on a terminal.
        rate_window: seconds of recent progress the rate is measured over.
    """

    def __init__(self, total, description="", initial=0, unit="it", stream=None,
                 min_interval=0.2, log_interval=30.0, rate_window=60.0):
        self.total = total
        self.description = description
        self.unit = unit
        self.stream = stream or sys.stderr
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = min_interval if self.interactive else log_interval
        self.step = initial
        self.start_time = time.monotonic()
        self.rate_window = rate_window
        # (time, step) at each print; the first is the newest one at least `rate_window` old.
        self.samples = collections.deque([(self.start_time, initial)])
        self.last_print = -float("inf")
        self.values = {}

    def update(self, step, values=None, force=False):
        """Moves the bar to `step` and records `values` (`{name: float}`) to display."""
        self.step = step
        if values:
            self.values.update(values)
        now = time.monotonic()
        if force or now - self.last_print >= self.interval:
            self.last_print = now
            self._print(now)

    def clear(self):
        """Erases the bar on a terminal (before printing a message); it returns on the next
        update."""
        if self.interactive:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def close(self):
        """Prints the final state and ends the line."""
        self._print(time.monotonic())
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def _print(self, now):
        elapsed = now - self.start_time
        self.samples.append((now, self.step))
        while len(self.samples) > 1 and self.samples[1][0] <= now - self.rate_window:
            self.samples.popleft()
        since, step_then = self.samples[0]
        rate = (self.step - step_then) / (now - since) if now > since else 0.0
        eta = (self.total - self.step) / rate if rate > 0 else float("nan")
        percent = 100.0 * self.step / self.total if self.total else 100.0
        values = " ".join(f"{k}={v:.4g}" for k, v in sorted(self.values.items()))
        rate_text = f"{rate:.2f} {self.unit}/s" if rate < 100 else f"{rate:.0f} {self.unit}/s"
        eta_text = _format_duration(eta) if eta == eta else "--:--"
        line = (f"{self.description} {self.step}/{self.total} ({percent:3.0f}%) {rate_text} "
                f"elapsed {_format_duration(elapsed)} ETA {eta_text} {values}").strip()
        if self.interactive:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
