"""Run programs from argument lists (never shell strings), and manage background servers."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from invoke.exceptions import Exit


def require_program(name: str, hint: str) -> str:
    """Return the program's path, or stop the task with one line saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise Exit(f"{name} is not on PATH: {hint}", code=2)
    return path


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = False,
    cwd: str | os.PathLike | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run `argv` and, with `check`, stop the task with the command's exit status when it fails."""
    merged = {**os.environ, **(env or {})}
    try:
        result = subprocess.run(list(argv), env=merged, cwd=cwd, text=True, capture_output=capture, input=input, check=False)
    except FileNotFoundError:
        raise Exit(f"{argv[0]} is not installed or not on PATH", code=2) from None
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        raise Exit(
            f"{Path(argv[0]).name} failed with status {result.returncode}" + (f": {detail[0]}" if detail else ""),
            code=result.returncode or 1,
        )
    return result


def run_in(c, argv: Sequence[str], *, hide: bool | str = False, env: Mapping[str, str] | None = None, pty: bool = False):
    """Run `argv` through an invoke context (one quoting rule: shlex.join); stop with one line on failure."""
    result = c.run(shlex.join(argv), warn=True, hide=hide, env=dict(env or {}), pty=pty)
    if result is None or result.failed:
        code = getattr(result, "exited", 1) or 1
        raise Exit(f"`{shlex.join(argv[:3])}{' …' if len(argv) > 3 else ''}` failed with status {code}", code=code)
    return result


def python_argv(module: str, *args: str) -> list[str]:
    """Return the argv that runs `python -m module args` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def wait_http(url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers 2xx; stop early with the server's exit status if it dies."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise Exit(f"the server exited with status {process.returncode} before {url} answered", code=1)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            last = str(getattr(error, "reason", error))
        time.sleep(0.1)
    raise Exit(f"{url} did not answer within {timeout:.0f} s ({last})", code=1)


def process_status(pid: int) -> dict[str, list[str]]:
    """Return the fields of /proc/<pid>/status (Linux): name -> value words, e.g. VmRSS -> ["1234", "kB"]."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return fields


def stop(process: subprocess.Popen, grace: float = 10.0) -> int:
    """Send SIGTERM, wait up to `grace` seconds, then SIGKILL; return the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
