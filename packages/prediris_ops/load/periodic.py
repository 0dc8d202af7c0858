"""Run an action every few seconds in a background thread for the length of a `with` block."""

import threading
from collections.abc import Callable


class Periodic:
    """Call `action` every `every` seconds while the block runs; optionally once at entry and once at exit."""

    def __init__(self, action: Callable[[], object], every: float, *, at_start: bool = False, at_exit: bool = False):
        self.action = action
        self.every = every
        self.at_start = at_start
        self.at_exit = at_exit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"periodic-{getattr(action, '__name__', 'action')}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        # An action in progress (an HTTP poll) may take a while; never hang the task on it.
        self._thread.join(timeout=self.every + 30)
        if self.at_exit:
            self.action()

    def _run(self) -> None:
        if self.at_start:
            self.action()
        while not self._stop.wait(self.every):
            self.action()


class Watcher:
    """A `with` block during which `take()` runs at entry, every `every_seconds` and at exit (the watchers of a load test)."""

    every_seconds: float
    _polling: Periodic

    def take(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._polling = Periodic(self.take, self.every_seconds, at_start=True, at_exit=True)
        self._polling.__enter__()
        return self

    def __exit__(self, *exc_info):
        self._polling.__exit__(*exc_info)
