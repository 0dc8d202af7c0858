"""The model runtime: the verified scikit-learn model, loaded once, and the one place that calls it.

Predictions are exactly the estimator's: `predict` and `predict_proba`, or the direct kernel
(kernel.py) that runs the same neighbour search and is verified equal to both at load. Each request
is one call, whatever its number of rows: sharing calls between concurrent requests (micro-batching)
was measured to cost throughput with the fast kernel (docs/performance.md).
"""

from dataclasses import dataclass
from operator import le
from typing import Any

import numpy as np
import sklearn

from prediris_api.runtime.kernel import build_kernel
from prediris_model import LoadedModel


@dataclass(frozen=True)
class OutOfRange:
    row: int
    feature: str
    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
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

    def __init__(
        self,
        loaded: LoadedModel,
        kernel: str = "auto",
    ):
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
        self._kernel = build_kernel(self.estimator, loaded.sha256) if kernel == "auto" else None
        self.kernel_name = "direct" if self._kernel is not None else "public"

    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the class ids and probabilities of `rows`, in one call of the kernel (or the estimator)."""
        if self._kernel is not None:
            return self._kernel(rows)
        # Finiteness is checked by the codecs before any row gets here.
        with sklearn.config_context(assume_finite=True):
            return self.estimator.predict(rows), self.estimator.predict_proba(rows)

    def out_of_range(self, rows: np.ndarray) -> list[OutOfRange]:
        """Return every feature value outside the range the model saw in training."""
        if len(rows) == 1:  # the common case, without array temporaries
            row = rows[0].tolist()
            if all(map(le, self._low_list, row)) and all(map(le, row, self._high_list)):
                return []
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
