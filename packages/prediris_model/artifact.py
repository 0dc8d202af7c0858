"""Save and load the model: `joblib.dump` plus a JSON card, and SHA-256 verification before unpickling.

A joblib file is a pickle, and unpickling runs code: `load` is the only place that calls
`joblib.load`, and it does so only after the file's digest matches the card (and, when given, the
digest pinned by the operator).
"""

import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import joblib
import numpy as np
import sklearn

from prediris_model.errors import ModelError, ModelIntegrityError, ModelNotFound
from prediris_model.reference import problem as reference_problem
from prediris_model.training import MODEL_NAME, TrainingResult

MODEL_FILE = f"{MODEL_NAME}.joblib"
CARD_FILE = f"{MODEL_NAME}.json"

log = logging.getLogger(__name__)


class Classifier(Protocol):
    """What the server uses of an unpickled estimator (checked by `load`)."""

    classes_: np.ndarray

    def predict(self, rows: np.ndarray) -> np.ndarray: ...

    def predict_proba(self, rows: np.ndarray) -> np.ndarray: ...


@dataclass
class LoadedModel:
    estimator: Classifier
    card: dict[str, Any]
    path: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return str(self.card["sha256"])

    @property
    def version(self) -> str:
        return str(self.card["version"])


def save(result: TrainingResult, directory: str | os.PathLike[str]) -> Path:
    """Write the estimator with `joblib.dump` and its card next to it; return the card's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    partial = model_path.with_suffix(".joblib.partial")
    joblib.dump(result.estimator, partial)
    digest = sha256_of(partial)
    card = {"name": MODEL_NAME, "version": digest[:12], "file": MODEL_FILE, "sha256": digest}
    card.update({key: value for key, value in result.card.items() if key not in card})
    card_path = directory / CARD_FILE
    # Model first, card last: a reader that sees the new card also sees the file it describes.
    os.replace(partial, model_path)
    _write_atomically(card_path, json.dumps(card, indent=2) + "\n")
    return card_path


def read_card(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the model card, or raise ModelNotFound with the command that creates it."""
    card_path = Path(directory) / CARD_FILE
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelNotFound(f"no model card at {card_path}: run `invoke train` to create the model") from None
    except (OSError, ValueError) as error:
        raise ModelIntegrityError(f"cannot read model card {card_path} ({error}): run `invoke train` to rewrite it") from None
    if not isinstance(card, dict) or not isinstance(card.get("sha256"), str):
        raise ModelIntegrityError(f"model card {card_path} has no sha256: run `invoke train` to rewrite it")
    if (issue := reference_problem(card)) is not None:
        raise ModelIntegrityError(f"model card {card_path} has an unusable drift_reference ({issue}): run `invoke train` to rewrite it")
    return card


def load(directory: str | os.PathLike[str], expected_sha256: str | None = None) -> LoadedModel:
    """Verify the artifact against its card (and an optional pinned digest), then unpickle it."""
    directory = Path(directory)
    card = read_card(directory)
    model_path = directory / card.get("file", MODEL_FILE)
    if not model_path.is_file():
        raise ModelNotFound(f"no model file at {model_path}: run `invoke train` to create the model")
    actual = sha256_of(model_path)
    if actual != card["sha256"]:
        raise ModelIntegrityError(
            f"{model_path} does not match its card (sha256 {actual[:12]}… ≠ {card['sha256'][:12]}…): "
            "the file was modified or replaced; refusing to unpickle it — run `invoke train` or restore the file"
        )
    if expected_sha256 and actual != expected_sha256.strip().lower():
        raise ModelIntegrityError(
            f"{model_path} has sha256 {actual[:12]}… but PREDIRIS_MODEL_SHA256 pins {expected_sha256[:12]}…: "
            "refusing to unpickle it — deploy the pinned model or update the pin"
        )
    notes: list[str] = []
    trained_with = card.get("versions", {}).get("scikit-learn")
    if trained_with and trained_with != sklearn.__version__:
        notes.append(
            f"model trained with scikit-learn {trained_with}, serving with {sklearn.__version__}: "
            "retrain with `invoke train` to remove the version skew"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator = joblib.load(model_path)
        except Exception as error:  # a verified file that still fails to unpickle: incompatible libraries
            raise ModelError(f"cannot unpickle {model_path} ({type(error).__name__}: {error}): retrain with `invoke train`") from None
    notes.extend(str(warning.message).splitlines()[0] for warning in caught)
    classes = card.get("classes", [])
    if not hasattr(estimator, "predict_proba") or len(getattr(estimator, "classes_", ())) != len(classes):
        raise ModelIntegrityError(f"{model_path} is not a classifier for the card's classes {classes}: run `invoke train`")
    for note in notes:
        log.warning("%s", note)
    return LoadedModel(estimator=estimator, card=card, path=model_path, warnings=notes)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
