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
from dataclasses import dataclass
from pathlib import Path

import psutil

from prediris_ops.core.errors import OpsError


def require_program(name: str, hint: str) -> str:
    """Return the program's path, or stop the task with one line saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise OpsError(f"{name} is not on PATH: {hint}", code=2)
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
        raise OpsError(f"{argv[0]} is not installed or not on PATH", code=2) from None
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        raise OpsError(
            f"{Path(argv[0]).name} failed with status {result.returncode}" + (f": {detail[0]}" if detail else ""),
            code=result.returncode or 1,
        )
    return result


def run_in(c, argv: Sequence[str], *, hide: bool | str = False, env: Mapping[str, str] | None = None, pty: bool = False):
    """Run `argv` through an invoke context (one quoting rule: shlex.join); stop with one line on failure."""
    result = c.run(shlex.join(argv), warn=True, hide=hide, env=dict(env or {}), pty=pty)
    if result is None or result.failed:
        code = getattr(result, "exited", 1) or 1
        raise OpsError(f"`{shlex.join(argv[:3])}{' …' if len(argv) > 3 else ''}` failed with status {code}", code=code)
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
            raise OpsError(f"the server exited with status {process.returncode} before {url} answered", code=1)
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
    raise OpsError(f"{url} did not answer within {timeout:.0f} s ({last})", code=1)


@dataclass(frozen=True)
class Usage:
    """What a process and its children hold and have used: resident memory, threads, CPU time (user + system).

    A server is its whole process tree: granian's supervisor and the worker that does the work."""

    rss_kib: int
    threads: int
    cpu_seconds: float


def process_usage(pid: int) -> Usage:
    """Return the resident memory, thread count and CPU time of a process and its children (psutil)."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        raise OpsError(f"process {pid} is gone: it stopped before it could be measured") from None
    rss = threads = 0
    cpu = 0.0
    for member in members:
        try:
            with member.oneshot():
                times = member.cpu_times()
                rss += member.memory_info().rss // 1024
                threads += member.num_threads()
                cpu += times.user + times.system
        except psutil.NoSuchProcess:  # a child that ended meanwhile
            continue
    return Usage(rss, threads, cpu)


def runs_program(pid: int, program: str) -> bool:
    """Return True while process `pid` runs `program` (a reused pid runs something else, or is not ours)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        # The executable, not the command line: exec sets it before Popen returns, while the command
        # line of a child that was just started can still be empty (measured: 6 of 300 spawns).
        executable = process.exe() or process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return _real_path(executable) == _real_path(program) if os.path.isabs(executable) else Path(executable).name == Path(program).name


def _real_path(program: str) -> str:
    return os.path.realpath(shutil.which(program) or program)


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
