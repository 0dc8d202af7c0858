"""Run the real API (`python -m prediris_api`, waitress) in the background for tasks and tests.

`invoke perf`, `invoke bench`, `invoke soak`, `invoke observe` and the end-to-end tests all start
the server the same way: a free or given port, PREDIRIS_* settings, a log file, wait until ready,
and a clean SIGTERM stop of exactly what was started.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from invoke.exceptions import Exit


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


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
) -> Iterator[LocalAPI]:
    """Start the API, wait for /health/ready, yield it, then SIGTERM it (SIGKILL after `stop_timeout`)."""
    port = port or free_port(host)
    env = {**os.environ, "PREDIRIS_HOST": host, "PREDIRIS_PORT": str(port), "PREDIRIS_MODEL_DIR": str(model_dir), **(extra_env or {})}
    env.update({f"PREDIRIS_{key.upper()}": str(value) for key, value in (settings or {}).items()})
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "prediris_api"], env=env, stdout=log, stderr=subprocess.STDOUT)
    api = LocalAPI(f"http://{host}:{port}", process, log_path)
    try:
        _wait_ready(api, ready_timeout)
        yield api
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(api: LocalAPI, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            raise Exit(f"the API exited with status {api.process.returncode} before it was ready: {api.log_tail(400).strip()}", code=1)
        if answers(api.base_url + "/health/ready"):
            return
        time.sleep(0.05)
    raise Exit(f"the API was not ready within {timeout:.0f} s; see {api.log_path}", code=1)
