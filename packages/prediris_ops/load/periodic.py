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
