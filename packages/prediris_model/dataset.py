"""The Iris data bundled with scikit-learn: feature order, units, class names and a fingerprint."""

import hashlib
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_iris


@dataclass(frozen=True)
class Feature:
    name: str
    unit: str
    description: str


# The order of this tuple is the order of a row in `{"X": [...]}`.
FEATURES = (
    Feature("sepal_length", "cm", "Sepal length"),
    Feature("sepal_width", "cm", "Sepal width"),
    Feature("petal_length", "cm", "Petal length"),
    Feature("petal_width", "cm", "Petal width"),
)
CLASS_NAMES = ("setosa", "versicolor", "virginica")
DATASET_NAME = "iris (scikit-learn bundled copy of UCI Iris)"


def load_dataset() -> tuple[np.ndarray, np.ndarray]:
    """Return the 150 Iris rows (float64, shape (150, 4)) and their integer labels."""
    features, labels = load_iris(return_X_y=True)
    return np.ascontiguousarray(features, dtype=np.float64), labels.astype(np.int64)


def fingerprint(features: np.ndarray, labels: np.ndarray) -> str:
    """Return a SHA-256 over the exact bytes of the data, so a changed dataset changes the card."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(features, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return digest.hexdigest()
