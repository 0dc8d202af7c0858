"""Start the real API (`python -m prediris_api`, waitress) on a free port, and stop it cleanly."""

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.support.tools import free_port


@contextmanager
def running_api(model_dir: Path, log_path: Path, **settings):
    """Yield (base_url, process) for a real server; settings become PREDIRIS_* variables."""
    port = free_port()
    env = {**os.environ, "PREDIRIS_HOST": "127.0.0.1", "PREDIRIS_PORT": str(port), "PREDIRIS_MODEL_DIR": str(model_dir)}
    env.update({f"PREDIRIS_{key.upper()}": str(value) for key, value in settings.items()})
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "prediris_api"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, log_path)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_ready(base: str, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {Path(log_path).read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/health/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"server not ready after {timeout} s: {Path(log_path).read_text()[-2000:]}")
