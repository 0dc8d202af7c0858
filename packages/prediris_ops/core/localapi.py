"""Run the real API (`python -m prediris_api`, granian) in the background for tasks and tests.

`invoke perf`, `invoke bench`, `invoke soak`, `invoke observe` and the end-to-end tests all start
the server the same way: a free or given port, PREDIRIS_* settings, a log file, wait until ready,
and a clean SIGTERM stop of exactly what was started.
"""

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prediris_ops.core.errors import OpsError
from prediris_ops.core.processes import stop, wait_http


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def curl_line(base_url: str) -> str:
    """Return the curl command that asks the API at `base_url` for one prediction."""
    return f'curl -X POST -H "Content-Type: application/json" -d \'{{"X": [5.1,3.5,1.4,0.2]}}\' {base_url}/predict'


@dataclass
class LocalAPI:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, characters: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return ""


def answers(url: str, timeout: float = 1.0) -> bool:
    """Return True when `url` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except OSError:
        return False


@contextmanager
def local_api(
    model_dir: str | os.PathLike,
    log_path: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    settings: Mapping[str, object] | None = None,
    ready_timeout: float = 60.0,
    stop_timeout: float = 30.0,
    extra_env: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
    name: str = "the API",
) -> Iterator[LocalAPI]:
    """Start the API (or `argv`, a server taking the same PREDIRIS_* settings), wait for
    /health/ready, yield it, then SIGTERM it (SIGKILL after `stop_timeout`)."""
    port = port or free_port(host)
    # No balancer routes to a local server: stop without the drain delay unless a test asks for one.
    env = {
        **os.environ,
        "PREDIRIS_DRAIN_DELAY_SECONDS": "0",
        "PREDIRIS_HOST": host,
        "PREDIRIS_PORT": str(port),
        "PREDIRIS_MODEL_DIR": str(model_dir),
        **(extra_env or {}),
    }
    env.update({f"PREDIRIS_{key.upper()}": str(value) for key, value in (settings or {}).items()})
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(list(argv or [sys.executable, "-m", "prediris_api"]), env=env, stdout=log, stderr=subprocess.STDOUT)
    api = LocalAPI(f"http://{host}:{port}", process, log_path)
    try:
        try:
            wait_http(api.base_url + "/health/ready", ready_timeout, process=process)
        except OpsError as error:
            raise OpsError(f"{name}: {error.message}; its log ({log_path}) ends with: {api.log_tail(400).strip()}", code=1) from None
        yield api
    finally:
        stop(process, stop_timeout)
