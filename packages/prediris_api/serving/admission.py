"""Admission control: a bounded number of requests in the replica, and beyond it an immediate 503.

Waitress reads and parses each request on its event-loop thread, then queues the connection for a
worker thread (`ThreadedTaskDispatcher.add_task`) before any WSGI code runs: a WSGI middleware would
see a request only after it had waited in that queue, when shedding it no longer saves anything.
So the decision is taken in `add_task` itself. A request is admitted if, with it,

    requests in flight (executing or waiting for a thread) <= max_in_flight, and
    requests waiting for a thread                           <= max_queue;

otherwise it is never queued: it is marked shed, and the event-loop thread answers it with a
503 problem+json carrying Retry-After (see connections.GuardedTask), keeping the connection open.
Shed requests cost the loop about as much as parsing them, never a worker thread nor the model,
so the admitted ones keep their latency however many clients arrive.
"""

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from waitress.channel import HTTPChannel
from waitress.task import ThreadedTaskDispatcher

from prediris_api.protocol.problems import PROBLEM_MEDIA_TYPE, Problem

OVERLOADED = "overloaded"
SHED_STATUS = "503 Service Unavailable"


@dataclass(frozen=True)
class Limits:
    max_in_flight: int
    max_queue: int
    retry_after_seconds: int


def shed_reply(reason: str, retry_after_seconds: int, instance: str | None) -> tuple[list[tuple[str, str]], bytes]:
    """Return the headers and problem+json body of a shed request."""
    detail = f"this replica is at its admission limit; retry after {retry_after_seconds} s"
    body = json.dumps(Problem(reason, detail).to_dict(instance)).encode()
    return [("Content-Type", PROBLEM_MEDIA_TYPE), ("Retry-After", str(retry_after_seconds))], body


class Admitted:
    """An admitted connection in the workers' queue: serviced (or cancelled) once, then released."""

    __slots__ = ("channel", "release")

    def __init__(self, channel: HTTPChannel, release: Callable[[], None]):
        self.channel = channel
        self.release = release

    def service(self) -> None:
        try:
            self.channel.service()
        finally:
            self.release()

    def cancel(self) -> None:
        try:
            self.channel.cancel()
        finally:
            self.release()


class AdmissionDispatcher(ThreadedTaskDispatcher):
    """Waitress's worker pool with bounded admission; shed requests are answered on the loop thread."""

    def __init__(self, limits: Limits):
        super().__init__()
        self.limits = limits
        # Connections whose request was shed, waiting for the loop thread to answer them.
        self._shed: deque[HTTPChannel] = deque()
        # Requests admitted and not yet serviced: queued, or held by a worker thread.
        self._held = 0
        # Set by the server: run a callable on the event-loop thread soon (waitress's trigger).
        self.call_soon: Callable[[Callable[[], None]], None] | None = None

    def _release(self) -> None:
        with self.lock:
            self._held -= 1

    def in_flight(self) -> tuple[int, int]:
        """Return (requests in flight, of which waiting for a worker thread)."""
        with self.lock:
            return self._counts()

    def _counts(self, arriving: int = 0) -> tuple[int, int]:
        # Counted here, from admission until a worker has serviced it: waitress's own active_count
        # also counts a worker that is starting or has just finished, which would shed requests.
        held = self._held + arriving
        return held, max(0, held - (len(self.threads) - self.stop_count))

    def add_task(self, channel: HTTPChannel) -> None:
        """Queue the channel's next request for a worker thread, or shed it when over the limits."""
        with self.lock:
            held, waiting = self._counts(arriving=1)  # as they would be with this request admitted
            admit = held <= self.limits.max_in_flight and waiting <= self.limits.max_queue
            if admit:
                self._held += 1
                self.queue.append(Admitted(channel, self._release))
                self.queue_cv.notify()
                return
            # add_task runs with the channel's requests_lock held, so the reply cannot be written
            # from here: hand the channel to the loop thread, which answers it without a worker.
            channel.requests[0].prediris_shed = OVERLOADED
            self._shed.append(channel)
            wake = len(self._shed) == 1
        if wake and self.call_soon is not None:
            self.call_soon(self._answer_shed)

    def _answer_shed(self) -> None:
        while True:
            try:
                channel = self._shed.popleft()
            except IndexError:
                return
            channel.service()
