"""Test helpers for real tools: skip with a reason on a laptop, fail in CI (CI=true)."""

import os
import shutil

import pytest

from prediris_ops.core.localapi import free_port

__all__ = ["IN_CI", "free_port", "missing", "require_program"]

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
