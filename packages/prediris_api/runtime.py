"""The model runtime: the verified scikit-learn model, loaded once, and the one place that calls it.

Predictions are exactly the estimator's: `predict_proba` for the probabilities and, where
scikit-learn itself derives `predict` from them (uniform-weight brute-force KNN), the same argmax;
otherwise `predict` is called too. Concurrent requests share calls through the Combiner.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sklearn
from sklearn.neighbors import KNeighborsClassifier

from prediris_api.combining import Combiner
from prediris_model import LoadedModel


@dataclass(frozen=True)
class OutOfRange:
    row: int
    feature: str
    value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {
            "row": self.row,
            "feature": self.feature,
            "value": self.value,
            "training_range": [self.low, self.high],
            "message": (
                f"{self.feature}={self.value:g} is outside the training range [{self.low:g}, {self.high:g}]; "
                "the prediction is an extrapolation"
            ),
        }


class ModelRuntime:
    """Predict class ids and probabilities for rows of 4 features (float64, shape (n, 4))."""

    def __init__(self, loaded: LoadedModel, combine_max_rows: int = 256, on_batch: Callable[[int], None] | None = None):
        self.loaded = loaded
        self.estimator = loaded.estimator
        self.card = loaded.card
        self.version = loaded.version
        self.class_names = tuple(loaded.card["classes"])
        self.feature_names = tuple(feature["name"] for feature in loaded.card["features"])
        self.low = np.array([feature["training_min"] for feature in loaded.card["features"]])
        self.high = np.array([feature["training_max"] for feature in loaded.card["features"]])
        self._low_list = self.low.tolist()
        self._high_list = self.high.tolist()
        self._classes = np.asarray(self.estimator.classes_)
        self._argmax_is_predict = _predict_is_argmax_of_proba(self.estimator)
        self.predict = Combiner(self._compute, max_rows=combine_max_rows, on_batch=on_batch)

    def _compute(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Finiteness is checked by the codecs before any row gets here.
        with sklearn.config_context(assume_finite=True):
            proba = self.estimator.predict_proba(rows)
            labels = self._classes[np.argmax(proba, axis=1)] if self._argmax_is_predict else self.estimator.predict(rows)
        return labels, proba

    def out_of_range(self, rows: np.ndarray) -> list[OutOfRange]:
        """Return every feature value outside the range the model saw in training."""
        if len(rows) == 1:  # the common case, without array temporaries
            row = rows[0].tolist()
            return [
                OutOfRange(0, self.feature_names[i], value, self._low_list[i], self._high_list[i])
                for i, value in enumerate(row)
                if value < self._low_list[i] or value > self._high_list[i]
            ]
        outside = (rows < self.low) | (rows > self.high)
        if not outside.any():
            return []
        return [
            OutOfRange(int(r), self.feature_names[c], float(rows[r, c]), self._low_list[c], self._high_list[c])
            for r, c in zip(*np.nonzero(outside), strict=True)
        ]


def _predict_is_argmax_of_proba(estimator) -> bool:
    # scikit-learn's KNeighborsClassifier.predict returns classes_[argmax(predict_proba)] for
    # uniform weights on a brute-force index (and single output); elsewhere call predict itself.
    return (
        type(estimator) is KNeighborsClassifier
        and estimator.weights == "uniform"
        and getattr(estimator, "_fit_method", None) == "brute"
        and not getattr(estimator, "outputs_2d_", False)
    )
