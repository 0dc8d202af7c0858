"""What an image build is given: its tags, OCI label values, training settings, the pinned model digest
and the base image (the Dockerfile's digest pin, or a base built locally without one).

`invoke build` and the end-to-end tests compute a build the same way here, so a test builds exactly
what a user builds (only the CA secret and build args may differ).
"""

import json
import re
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import prediris_model
from prediris_model import ModelError
from prediris_ops.container.lock import read_lock
from prediris_ops.container.provenance import without_credentials
from prediris_ops.core.errors import OpsError

# The libraries whose versions decide the bytes of the pickled model.
MODEL_LIBRARIES = ("scikit-learn", "numpy", "joblib")


def git(root: Path, *args: str) -> str | None:
    """Return git's output in `root`, or None outside a git checkout (or without git)."""
    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def image_tags(image: str, root: Path) -> list[str]:
    """Return `<image>:<git short sha>` (in a checkout) and `<image>:latest`."""
    short = git(root, "rev-parse", "--short", "HEAD")
    return [f"{image}:{short}", f"{image}:latest"] if short else [f"{image}:latest"]


def label_args(root: Path, source: str | None = None, now: datetime | None = None) -> dict[str, str]:
    """Return the build args behind the OCI labels: source, revision, version, created."""
    revision = git(root, "rev-parse", "HEAD") or "unknown"
    if git(root, "status", "--porcelain", "--untracked-files=no"):
        revision += "-dirty"
    try:
        version = metadata.version("prediris")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "OCI_SOURCE": without_credentials(source or git(root, "remote", "get-url", "origin") or "unknown"),
        "OCI_REVISION": revision,
        "OCI_VERSION": version,
        "OCI_CREATED": (now or datetime.now(UTC)).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }


def training_args(model: Mapping[str, object]) -> dict[str, str]:
    """Return the Dockerfile's training build args from the `model` configuration section."""
    return {
        "MODEL_SEED": str(model["seed"]),
        "MODEL_TEST_SIZE": str(model["test_size"]),
        "MODEL_CV_FOLDS": str(model["cv_folds"]),
        "MODEL_MIN_ACCURACY": str(model["min_accuracy"]),
    }


def model_pin(model_dir: str | Path, lock_path: Path) -> tuple[str | None, str]:
    """Return (digest to pin, why): the local model's SHA-256 when it was trained with the locked versions."""
    try:
        card = prediris_model.load(model_dir).card
    except ModelError as error:
        return None, f"no verified local model ({error})"
    locked = read_lock(lock_path)
    trained = card.get("versions", {})
    differing = [
        f"{name} {trained.get(name)} (lock: {locked.get(name)})" for name in MODEL_LIBRARIES if trained.get(name) != locked.get(name)
    ]
    if differing:
        return None, "the local model was trained with " + ", ".join(differing) + "; the image trains its own with the lock's versions"
    return card["sha256"], f"the image's model must be byte-identical to the one in {model_dir} (version {card['version']})"


_BASE_ARG = re.compile(r"^ARG BASE_IMAGE=(\S+)$", re.MULTILINE)


def pinned_base(dockerfile: Path) -> str:
    """Return the Dockerfile's `ARG BASE_IMAGE` default: the base image pinned by digest."""
    found = _BASE_ARG.search(dockerfile.read_text())
    if found is None or "@sha256:" not in found.group(1):
        raise OpsError(f"{dockerfile} has no `ARG BASE_IMAGE=<image>@sha256:<digest>`: pin the base image by digest", code=2)
    return found.group(1)


def repo_digests(docker: str, reference: str) -> list[str] | None:
    """Return the registry digests the engine records for `reference` ([] for an image built or imported
    locally), or None when the engine has no such image (or does not answer)."""
    try:
        argv = [docker, "image", "inspect", "--format", "{{json .RepoDigests}}", reference]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return list(json.loads(result.stdout.strip() or "null") or [])


def base_image(docker: str, pinned: str, local: str) -> tuple[str, str]:
    """Return (BASE_IMAGE to build from, the line saying which and why).

    The pin, unless the engine lacks it and holds `local` without any registry digest (what `invoke
    base-image` imports where no registry is reachable): then `local`, passed explicitly, bypassing the pin.
    """
    if repo_digests(docker, pinned) is None and repo_digests(docker, local) == []:
        return local, f"base image: {local}, built locally without a registry digest: the Dockerfile's pin {pinned} is bypassed"
    return pinned, f"base image: {pinned} (the Dockerfile's pin)"
