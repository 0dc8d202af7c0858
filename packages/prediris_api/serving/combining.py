"""Adaptive micro-batching by flat combining: requests that arrive together share one model call.

A caller that finds the model idle runs its own rows at once: no added wait when there is no
queue. Callers that arrive while a call is running queue their rows; when the call ends, the
oldest queued caller becomes the next combiner and predicts every queued row in one call, up to
`max_rows`. No extra thread, no timer: the batch size follows the load by itself.

Waiting a little for requests still being decoded was measured too (README, "Performance"):
under the GIL the waiting thread mostly delays the others, so the combiner never waits.
"""

import threading
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

Compute = Callable[[np.ndarray], Sequence[np.ndarray]]


class _Job:
    __slots__ = ("_wakeup", "error", "lead", "result", "rows")

    def __init__(self, rows: np.ndarray):
        self.rows = rows
        self.result = None
        self.error = None
        self.lead = False
        # A pre-acquired lock is CPython's cheapest one-shot wakeup (Condition uses the same).
        self._wakeup = threading.Lock()
        self._wakeup.acquire()

    def wake(self) -> None:
        self._wakeup.release()

    def wait(self) -> None:
        self._wakeup.acquire()


class Combiner:
    """Call `compute` on the rows of concurrent callers, concatenated, and give each its slice."""

    def __init__(self, compute: Compute, max_rows: int = 256, on_batch: Callable[[int], None] | None = None):
        self._compute = compute
        self._max_rows = max_rows
        self._on_batch = on_batch
        self._lock = threading.Lock()
        self._queue: deque[_Job] = deque()
        self._busy = False

    def __call__(self, rows: np.ndarray) -> Sequence[np.ndarray]:
        if len(rows) >= self._max_rows:  # already a full batch: nothing to gain by combining
            return self._run_alone(rows)
        with self._lock:
            job = None if not self._busy else _Job(rows)
            if job is None:
                self._busy = True
            else:
                self._queue.append(job)
        if job is None:  # idle: the common case with few clients, run at once and without a job
            return self._run_idle(rows)
        job.wait()
        if job.lead:
            self._combine(job)
        if job.error is not None:
            raise job.error
        return job.result

    def _run_idle(self, rows: np.ndarray) -> Sequence[np.ndarray]:
        try:
            return self._run_alone(rows)
        finally:
            self._pass_on()

    def _run_alone(self, rows: np.ndarray) -> Sequence[np.ndarray]:
        result = self._compute(rows)
        if self._on_batch:
            self._on_batch(len(rows))
        return result

    def _pass_on(self) -> None:
        # Hand the queue to its oldest caller (so this one can answer its client now), or go idle.
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.wake()
            else:
                self._busy = False

    def _combine(self, own: _Job) -> None:
        with self._lock:
            batch = [self._queue.popleft()]
            size = len(batch[0].rows)
            while self._queue and size + len(self._queue[0].rows) <= self._max_rows:
                size += len(self._queue[0].rows)
                batch.append(self._queue.popleft())
        self._run_batch(batch, size)
        for job in batch:
            if job is not own:
                job.wake()
        self._pass_on()

    def _run_batch(self, batch: list[_Job], size: int) -> None:
        rows = batch[0].rows if len(batch) == 1 else np.concatenate([job.rows for job in batch])
        try:
            outputs = self._compute(rows)
        except Exception as error:  # every caller of the batch sees the failure, none hangs
            for job in batch:
                job.error = error
            return
        if self._on_batch:
            self._on_batch(size)
        start = 0
        for job in batch:
            stop = start + len(job.rows)
            job.result = outputs if len(batch) == 1 else tuple(output[start:stop] for output in outputs)
            start = stop
