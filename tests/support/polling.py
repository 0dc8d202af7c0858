"""Wait for a condition in a test: poll until it holds, fail naming what never happened."""

import time

import pytest


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll `predicate` until it returns a truthy value, and return it; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
