"""Progress lines while Taurus runs: elapsed/total, users, current throughput, errors, p95.

Taurus's own console is a full-screen dashboard that does not fit CI logs, so the task turns it off
and prints one line every few seconds from the samples log as it grows.
"""

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from prediris_ops.load.periodic import Periodic
from prediris_ops.load.results import Sample, SamplesLog


def clock(seconds: float) -> str:
    """Format seconds as m:ss."""
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def progress_line(elapsed: float, total: float, recent: list[Sample], *, window: float, requests: int, errors: int) -> str:
    """Return one progress line; throughput and p95 are measured over the last `window` seconds."""
    users = recent[-1].users if recent else 0
    rate = len(recent) / window if window else 0.0
    p95 = f"{np.percentile([sample.elapsed_ms for sample in recent], 95, method='higher'):.0f} ms" if recent else "–"
    share = 100.0 * errors / requests if requests else 0.0
    now = f"  {clock(elapsed)} / {clock(total)}  users {users:>4}  {rate:7.1f} req/s  p95 {p95:>7}"
    return f"{now}  requests {requests:>7}  errors {errors} ({share:.2f}%)"


class Progress:
    """Print a progress line every `every` seconds from a growing samples log, in a background thread."""

    def __init__(self, samples_path: Path, total_seconds: float, every: float = 5.0, say: Callable[[str], None] = print):
        self.log = SamplesLog(samples_path)
        self.total = total_seconds
        self.every = every
        self.say = say
        self.requests = 0
        self.errors = 0
        self._first_sample_at: float | None = None
        self._ticking = Periodic(lambda: self.tick(time.time()), every)

    def __enter__(self):
        self.say(f"  waiting for the first response (the load generator is starting; {clock(self.total)} of load follow)")
        self._ticking.__enter__()
        return self

    def __exit__(self, *exc_info):
        self._ticking.__exit__(*exc_info)

    def tick(self, now: float) -> str | None:
        """Read new samples and print a line about the last `every` seconds; return it."""
        recent = self.log.read_new()
        if not recent and self._first_sample_at is None:
            return None
        if self._first_sample_at is None:
            self._first_sample_at = min(sample.timestamp_ms for sample in recent) / 1000.0
        self.requests += len(recent)
        self.errors += sum(not sample.success for sample in recent)
        line = progress_line(now - self._first_sample_at, self.total, recent, window=self.every, requests=self.requests, errors=self.errors)
        self.say(line)
        return line
