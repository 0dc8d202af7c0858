"""The README's first command, run as written in a copy of the project: a light virtual environment that serves.

Real pip against the package index this machine uses (its cache makes a rerun quick), a real venv, the
real `invoke up` and the seed's curl. The command is a shell line for users, so it runs under sh.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from prediris_ops.core.paths import ROOT
from tests.support.tools import free_port, require_program

pytestmark = pytest.mark.e2e

VENV_BUDGET_MB = 400
# pip resolves and installs scikit-learn, SciPy and NumPy: minutes on a cold cache, seconds on a warm one.
INSTALL_DEADLINE_S = 600


def readme_lines() -> tuple[str, str]:
    """Return (the first command, the seed's curl line) as the README writes them."""
    text = (ROOT / "README.md").read_text()
    commands = [line for line in text.splitlines() if line.startswith("python3 -m venv")]
    curls = [line for line in text.splitlines() if line.startswith("curl ")]
    assert commands and curls, "README.md lost its first command or its curl line"
    return commands[0], curls[0]


def copy_of_project(destination: Path) -> Path:
    """Copy what a fresh clone holds (tracked and new, not ignored, files) to `destination`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def size_mb(folder: Path) -> float:
    """Return the bytes of the files under `folder` (links not followed), in MB."""
    total = 0
    for parent, _, files in os.walk(folder):
        total += sum(os.lstat(os.path.join(parent, name)).st_size for name in files)
    return total / 1e6


def stop_group(process: subprocess.Popen) -> None:
    """Stop the shell, invoke and the server it started (one process group), as Ctrl-C would."""
    for sig, grace in ((signal.SIGINT, 15), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            continue


def test_the_readmes_first_command_serves_the_seeds_curl_from_a_light_venv(tmp_path):
    require_program("curl", "apt-get install curl")
    first, curl = readme_lines()
    project = copy_of_project(tmp_path / "prediris")
    port = free_port()
    log = (tmp_path / "first-command.log").open("w")
    env = {**os.environ, "PREDIRIS_PORT": str(port)}
    for name in ("VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)  # a user's fresh shell: only what the command creates and activates
    process = subprocess.Popen(["sh", "-c", first], cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    curl_argv = [arg.replace("localhost:5000", f"127.0.0.1:{port}") for arg in shlex.split(curl)]
    try:
        deadline = time.monotonic() + INSTALL_DEADLINE_S
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            reply = subprocess.run([*curl_argv, "--silent", "--max-time", "5"], capture_output=True, text=True)
            if reply.returncode == 0 and reply.stdout:
                answer = reply.stdout
                break
            time.sleep(1)
        output = (tmp_path / "first-command.log").read_text()
        assert answer is not None, f"no answer to the README's curl (exit {process.poll()}):\n{output[-3000:]}"
        assert re.search(r'"prediction":\s*"setosa"', answer), answer
        assert "invoke train" not in output  # `invoke up` trains by itself: no advice to do it
        venv = project / ".venv"
        assert size_mb(venv) <= VENV_BUDGET_MB, f"the first command's venv holds {size_mb(venv):.0f} MB"

        # The light install lists every task, and a task whose extra is missing names the extra in one line.
        invoke = [str(venv / "bin" / "invoke")]
        listed = subprocess.run([*invoke, "--list"], cwd=project, env=env, capture_output=True, text=True)
        assert listed.returncode == 0 and "perf" in listed.stdout and "deploy" in listed.stdout, listed.stderr
        for task, extra in (("perf", "perf"), ("provision", "deploy")):
            ran = subprocess.run([*invoke, task], cwd=project, env=env, capture_output=True, text=True)
            assert ran.returncode == 2, ran.stderr
            assert ran.stderr.strip().count("\n") == 0 and f"pip install -e '.[{extra}]'" in ran.stderr, ran.stderr
    finally:
        stop_group(process)
        log.close()
