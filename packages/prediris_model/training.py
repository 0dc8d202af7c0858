"""Train a k-nearest-neighbours classifier on Iris: stratified split, cross-validated k, test metrics, gate."""

import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier

from prediris_model.dataset import CLASS_NAMES, DATASET_NAME, FEATURES, fingerprint, load_dataset
from prediris_model.errors import QualityGateFailed
from prediris_model.reference import reference

# The model's one name: its files, its card, the V2 protocol's model name and the routes use it.
MODEL_NAME = "iris-knn"


@dataclass(frozen=True)
class TrainingConfig:
    test_size: float = 0.25
    seed: int = 42
    cv_folds: int = 5
    neighbors: tuple[int, ...] = tuple(range(1, 31))
    weights: tuple[str, ...] = ("uniform", "distance")
    min_accuracy: float = 0.90


@dataclass
class TrainingResult:
    estimator: KNeighborsClassifier
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return float(self.card["metrics"]["test"]["accuracy"])


def train(config: TrainingConfig = TrainingConfig()) -> TrainingResult:
    """Fit, select k and weighting by cross-validation, evaluate on the held-out split, apply the gate."""
    features, labels = load_dataset()
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=config.test_size, stratify=labels, random_state=config.seed
    )
    # Brute force is exact and, for uniform weights, is the path where scikit-learn derives
    # `predict` from `predict_proba`: the server can then answer both with one call.
    search = GridSearchCV(
        KNeighborsClassifier(algorithm="brute"),
        {"n_neighbors": list(config.neighbors), "weights": list(config.weights)},
        cv=StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.seed),
        scoring="accuracy",
    )
    search.fit(x_train, y_train)
    estimator = search.best_estimator_
    test_metrics = evaluate(estimator, x_test, y_test)
    if test_metrics["accuracy"] < config.min_accuracy:
        raise QualityGateFailed(
            f"test accuracy {test_metrics['accuracy']:.4f} is below the quality gate "
            f"{config.min_accuracy:.2f}; the model was not saved (lower model.min_accuracy only on purpose)"
        )
    card = {
        "name": MODEL_NAME,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "hyperparameters": _jsonable(estimator.get_params()),
        "selection": {
            "method": "grid search, stratified k-fold on the training split",
            "cv_folds": config.cv_folds,
            "search_space": {"n_neighbors": list(config.neighbors), "weights": list(config.weights)},
            "cv_accuracy": round(float(search.best_score_), 6),
        },
        "metrics": {"test": test_metrics},
        "quality_gate": {"min_accuracy": config.min_accuracy, "passed": True},
        "features": [
            {
                "name": feature.name,
                "unit": feature.unit,
                "description": feature.description,
                "training_min": float(x_train[:, i].min()),
                "training_max": float(x_train[:, i].max()),
            }
            for i, feature in enumerate(FEATURES)
        ],
        "classes": list(CLASS_NAMES),
        # What the service's drift metrics compare traffic with (reference.py): the training split.
        "drift_reference": reference(x_train, y_train, [feature.name for feature in FEATURES], list(CLASS_NAMES)),
        "training_data": {
            "name": DATASET_NAME,
            "rows": len(features),
            "train_rows": len(x_train),
            "test_rows": len(x_test),
            "sha256": fingerprint(features, labels),
            "split": {"test_size": config.test_size, "stratified": True, "seed": config.seed},
        },
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "joblib": joblib.__version__,
            "numpy": np.__version__,
        },
    }
    return TrainingResult(estimator=estimator, card=card)


def evaluate(estimator: KNeighborsClassifier, features: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Return accuracy, per-class precision/recall/F1/support and the confusion matrix."""
    predicted = estimator.predict(features)
    class_ids = list(range(len(CLASS_NAMES)))
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=class_ids, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 6),
        "per_class": {
            name: {
                "precision": round(float(precision[i]), 6),
                "recall": round(float(recall[i]), 6),
                "f1": round(float(f1[i]), 6),
                "support": int(support[i]),
            }
            for i, name in enumerate(CLASS_NAMES)
        },
        "confusion_matrix": {
            "labels": list(CLASS_NAMES),
            "rows_are": "true class",
            "matrix": confusion_matrix(labels, predicted, labels=class_ids).tolist(),
        },
    }


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value if isinstance(value, (str, int, float, bool, type(None))) else repr(value) for key, value in params.items()}
