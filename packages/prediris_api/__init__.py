"""The prediris prediction API: a Flask app factory served by granian (`prediris-serve`)."""

import os

# One request is a few rows: numpy's and scikit-learn's thread pools only add threads that spin
# between calls, stealing the CPU (or the container's quota) from the server's own threads.
# Set before numpy is imported; an explicit setting in the environment wins.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from typing import TYPE_CHECKING, Any  # noqa: E402 - after the thread settings above

if TYPE_CHECKING:
    from prediris_api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """`create_app` on first use: importing `prediris_api.settings` (the deploy tasks read the defaults)
    must not import Flask, scikit-learn and SciPy."""
    if name == "create_app":
        from prediris_api.app import create_app  # noqa: PLC0415

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
