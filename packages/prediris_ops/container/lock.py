"""The hashed locks, written by uv (`uv pip compile --generate-hashes`), not by us.

Two locks come from setup.cfg: the image's runtime set (install_requires, no extra), and the tools of
the CI jobs that hold Azure credentials (push, deploy, load test: the runtime set plus a few extras).
Both are resolved for the image's Python and platform (pip-tools cannot lock for another platform) and
pinned to the versions the tests ran with: every distribution installed here is a constraint. pip
installs them with `--require-hashes`: a file whose SHA-256 is not in the lock fails the install.
"""

import re
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from prediris_ops.container.docker import find_ca_bundle
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import require_program, run

# The image's interpreter: Debian bookworm's python3 on x86_64 (glibc 2.36 takes manylinux_2_28 wheels).
IMAGE_PYTHON = "3.11"
IMAGE_PLATFORM = "x86_64-manylinux_2_28"
LOCKER = "invoke lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s#;\\]+)", flags=re.MULTILINE)
HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


def tested_versions(exclude: str = "prediris") -> list[str]:
    """Return `name==version` for every distribution installed here (the versions the tests ran with)."""
    pins = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name and name.lower() != exclude:
            pins[name.lower()] = f"{name}=={distribution.version}"
    return [pins[name] for name in sorted(pins)]


def compile_argv(uv: str, output: Path, constraints: Path, extras: Sequence[str] = (), source: str = "setup.cfg") -> list[str]:
    """Return the uv command that writes `output` from `source` (relative to the folder it runs in)."""
    return [
        uv,
        "pip",
        "compile",
        "--quiet",
        "--generate-hashes",
        "--python-version",
        IMAGE_PYTHON,
        "--python-platform",
        IMAGE_PLATFORM,
        "--constraint",
        str(constraints),
        "--custom-compile-command",
        LOCKER,
        *[arg for extra in extras for arg in ("--extra", extra)],
        "--output-file",
        str(output),
        source,
    ]


def lock_text(extras: Sequence[str] = (), *, ca_bundle: str | None = "auto", root: Path = ROOT) -> str:
    """Return the lock uv writes for root/setup.cfg (with `extras`) at the versions installed here."""
    uv = require_program("uv", "pip install uv (or pip install -e '.[image]')")
    bundle = find_ca_bundle(ca_bundle)
    env = {"SSL_CERT_FILE": str(bundle)} if bundle else None
    # A path relative to `root`: the lock's annotations name it ("-c build/lock/tested.txt"), the same every run.
    constraints = Path("build", "lock", "tested.txt")
    (root / constraints).parent.mkdir(parents=True, exist_ok=True)
    (root / constraints).write_text("\n".join(tested_versions()) + "\n")
    with tempfile.TemporaryDirectory(prefix="prediris-lock-") as folder:
        output = Path(folder) / "out.lock"
        result = run(compile_argv(uv, output, constraints, extras), env=env, capture=True, check=False, cwd=root)
        if result.returncode != 0:
            lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
            raise OpsError(f"uv could not lock {', '.join(extras) or 'the runtime set'}: {' '.join(lines[-3:]).strip()}", code=1)
        return output.read_text()


def read_lock_text(text: str) -> dict[str, str]:
    """Return {name: version} of a lock's pins (names as the lock spells them, which uv normalises)."""
    return dict(PIN.findall(text))


def read_lock(path: Path) -> dict[str, str]:
    """Return {name: version} of the lock file at `path` (empty when it does not exist)."""
    try:
        return read_lock_text(path.read_text())
    except FileNotFoundError:
        return {}


def read_hashes_text(text: str) -> dict[str, list[str]]:
    """Return {name: [sha256:…]} of a lock's pins (uv writes one `--hash` per file of the release)."""
    hashes: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        pin = PIN.match(block)
        if pin:
            hashes[pin.group(1)] = HASH.findall(block)
    return hashes
