"""The prediris prediction API: a Flask app factory served by granian (`prediris-serve`)."""

import os

# One request is a few rows: numpy's and scikit-learn's thread pools only add threads that spin
# between calls, stealing the CPU (or the container's quota) from the server's own threads.
# Set before numpy is imported; an explicit setting in the environment wins.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from prediris_api.app import create_app  # noqa: E402 - after the thread settings above

__all__ = ["create_app"]
