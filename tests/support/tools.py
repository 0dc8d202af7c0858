"""Test helpers for real tools: skip with a reason on a laptop, fail in CI (CI=true)."""

import os
import shutil
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """Skip the test on a developer's machine; fail it in CI, where nothing may be silently skipped."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def require_program(name: str, install_hint: str) -> str:
    """Return the program's path, or skip/fail (see `missing`) naming how to install it."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not on PATH ({install_hint})")
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
