"""The drain a platform needs, on granian's public interface: readiness off, keep serving, then stop.

granian runs a supervisor (this process, PID 1 in the image) and one worker process that serves.
On SIGTERM or SIGINT the supervisor:

1. tells the worker to drain (SIGUSR1): its /health/ready answers 503 at once and its replies carry
   `Connection: close`, while it keeps accepting and serving;
2. on SIGTERM (what platforms send), waits `drain_delay_seconds`, long enough for a balancer that
   checks readiness every second with a failure threshold of 2 to stop routing to it; on SIGINT
   (Ctrl-C, a person at a terminal) it does not wait;
3. hands the signal to granian's own handler: granian stops accepting, answers the requests it
   accepted, and stops its worker (killed past `shutdown_grace_seconds`).

A second signal skips what is left of the delay. Where the platform signals every process at once
(Azure Container Apps), the worker gets SIGTERM too and granian stops it at once: it answers the
requests it accepted, but the delay cannot be kept (docs/reliability.md).
"""

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger("prediris")
# The signal the supervisor sends its worker to start draining; nothing else uses it.
DRAIN_SIGNAL = signal.SIGUSR1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
Handler = Callable[[int, FrameType | None], Any]


class Drain:
    """The supervisor's side: owns SIGTERM/SIGINT once granian has installed its handlers."""

    def __init__(self, delay_seconds: float) -> None:
        self.delay_seconds = delay_seconds
        self.started = threading.Event()
        self._granian_handlers: dict[int, Handler] = {}
        self._timer: threading.Timer | None = None

    def take_over_signals(self) -> None:
        """Install our handlers in place of granian's (call from granian's on_startup hook: main thread)."""
        for signum in STOP_SIGNALS:
            handler = signal.getsignal(signum)
            if callable(handler):
                self._granian_handlers[signum] = handler
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """First signal: start draining and stop after the delay; a second one: stop now."""
        if self.started.is_set():
            log.info("second %s: stopping now", signal.Signals(signum).name)
            self._stop(signum)
            return
        self.started.set()
        for child in multiprocessing.active_children():  # granian's worker processes
            if child.pid is not None:
                with contextlib.suppress(ProcessLookupError):  # a worker that stopped on the same signal
                    os.kill(child.pid, DRAIN_SIGNAL)
        delay = self.delay_seconds if signum == signal.SIGTERM else 0.0
        log.info(
            "%s: draining; /health/ready answers 503, serving on for %g s before the server stops accepting",
            signal.Signals(signum).name,
            delay,
        )
        self._timer = threading.Timer(delay, self._stop, args=(signum,))
        self._timer.daemon = True
        self._timer.start()

    def _stop(self, signum: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        handler = self._granian_handlers.get(signum) or self._granian_handlers.get(signal.SIGTERM)
        if handler is not None:
            handler(signum, None)


def on_drain_signal(start_draining: Callable[[], None]) -> None:
    """The worker's side: call `start_draining` when the supervisor says so (install in the worker's main thread)."""
    signal.signal(DRAIN_SIGNAL, lambda signum, frame: start_draining())
