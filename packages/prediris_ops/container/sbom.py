"""The image's SBOM: a CycloneDX document of the Python environment inside the built image.

The distributions' metadata (`*.dist-info`) is copied out of the image's venv into a throw-away venv
here, and cyclonedx-py (cyclonedx-bom) describes that venv: its components are exactly the image's.
"""

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from prediris_ops.container.lock import IMAGE_PYTHON
from prediris_ops.core.errors import OpsError
from prediris_ops.core.processes import run

# The Dockerfile's venv (`python3 -m venv /opt/venv`) and where its distributions live.
IMAGE_SITE_PACKAGES = f"/opt/venv/lib/python{IMAGE_PYTHON}/site-packages"


def copy_metadata(docker: str, reference: str, site_packages: Path) -> int:
    """Copy every `*.dist-info` folder of the image's venv into `site_packages`; return how many."""
    name = f"prediris-sbom-{os.getpid()}"
    run([docker, "create", "--name", name, "--network", "none", reference], capture=True)
    copied = set()
    try:
        copy = subprocess.Popen([docker, "cp", f"{name}:{IMAGE_SITE_PACKAGES}", "-"], stdout=subprocess.PIPE)
        with copy, tarfile.open(fileobj=copy.stdout, mode="r|") as archive:
            for member in archive:
                parts = PurePosixPath(member.name).parts  # site-packages/<dist>.dist-info/...
                if len(parts) >= 3 and parts[1].endswith(".dist-info") and (member.isfile() or member.isdir()):
                    member.name = str(PurePosixPath(*parts[1:]))
                    archive.extract(member, site_packages, filter="data")
                    copied.add(parts[1])
    finally:
        run([docker, "rm", "--force", name], capture=True, check=False)
    if copy.returncode != 0 or not copied:
        raise OpsError(f"could not read {IMAGE_SITE_PACKAGES} from {reference}: is it an image `invoke build` built?", code=1)
    return len(copied)


def sbom_argv(venv: Path, output: Path) -> list[str]:
    """Return the cyclonedx-py command that writes the CycloneDX JSON SBOM of `venv` to `output`."""
    return [sys.executable, "-m", "cyclonedx_py", "environment", "--output-reproducible", "--of", "JSON", "-o", str(output), str(venv)]


def write_sbom(docker: str, reference: str, output: Path) -> list[tuple[str, str]]:
    """Write the SBOM of the image's Python environment to `output`; return its (name, version) components."""
    try:
        import cyclonedx_py  # noqa: F401, PLC0415 — only to name the fix when it is missing
    except ImportError:
        raise OpsError("cyclonedx-bom is not installed: pip install -e '.[ops]'", code=2) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prediris-sbom-") as folder:
        venv = Path(folder) / "venv"
        run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        copy_metadata(docker, reference, venv / "lib" / version / "site-packages")
        # Without PYTHONPATH: the venv's interpreter must see the image's distributions and nothing else.
        environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
        result = subprocess.run(sbom_argv(venv, output), env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        raise OpsError(f"cyclonedx-py failed with status {result.returncode}: {detail[0] if detail else 'no output'}", code=1)
    return components(output)


def components(path: Path) -> list[tuple[str, str]]:
    """Return the sorted (name, version) pairs of a CycloneDX JSON document's components."""
    document = json.loads(path.read_text())
    return sorted((component["name"], component["version"]) for component in document.get("components", []))
