"""Start the real API for tests: a thin wrapper over prediris_ops.core.localapi."""

from contextlib import contextmanager
from pathlib import Path

from prediris_ops.core.localapi import local_api


@contextmanager
def running_api(model_dir: Path, log_path: Path, **settings):
    """Yield (base_url, process) for a real server; settings become PREDIRIS_* variables."""
    with local_api(model_dir, log_path, settings=settings) as api:
        yield api.base_url, api.process
