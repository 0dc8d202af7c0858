"""What an image build is given: its tags, OCI label values, training settings and the pinned model digest.

`invoke build` and the end-to-end tests compute a build the same way here, so a test builds exactly
what a user builds (only the CA secret and build args may differ).
"""

import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import prediris_model
from prediris_model import ModelError
from prediris_ops.container.lock import read_lock
from prediris_ops.container.provenance import without_credentials

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
