"""The per-app service state that routes share: settings, model runtime, codecs, metrics, readiness."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import current_app

from prediris_api.protocol.codecs import PredictDecoder, PredictEncoder
from prediris_api.runtime.model import ModelRuntime, OutOfRange
from prediris_api.settings import Settings
from prediris_metrics import PredirisMetrics

EXTENSION = "prediris"


@dataclass
class Service:
    settings: Settings
    runtime: ModelRuntime
    decoder: PredictDecoder
    encoder: PredictEncoder
    metrics: PredirisMetrics
    # Set when the replica starts draining (SIGTERM, serving/drain.py): readiness answers 503 from then on.
    draining: threading.Event = field(default_factory=threading.Event)
    # The requests waiting for a thread before they reach the app: the server's count (granian's queue,
    # serving/waiting.py), added to the requests executing in the in-flight gauge; none under a test client.
    waiting: Callable[[], int] = lambda: 0

    @property
    def ready(self) -> bool:
        return not self.draining.is_set()

    def predict(self, body: bytes) -> bytes:
        """Answer a `/predict` body: decode, then `answer` with the /predict encoding.

        Raises a Problem for a body that cannot be answered, before anything is counted.
        """
        decoded = self.decoder.decode(body)
        encoder = self.encoder
        return self.answer(decoded.rows, lambda labels, proba, warnings: encoder.encode(decoded, labels, proba, warnings))

    def answer(self, rows: np.ndarray, encode: Callable[[np.ndarray, np.ndarray, list[dict[str, Any]]], bytes]) -> bytes:
        """Predict decoded `rows` in one model call, encode the reply, and count it once it is encoded:
        the steps of every prediction route (/predict and V2 infer)."""
        runtime = self.runtime
        labels, proba = runtime.predict(rows)
        out_of_range = runtime.out_of_range(rows)
        reply = encode(labels, proba, [item.to_dict() for item in out_of_range])
        self.record_predictions(rows, labels, out_of_range)
        return reply

    def record_predictions(self, rows: np.ndarray, labels: np.ndarray, out_of_range: list[OutOfRange]) -> None:
        """Count predicted rows per class, rows per request, out-of-range feature values, and each row's
        value of each feature in its drift reference bin (every row of a batch)."""
        metrics = self.metrics
        if metrics.feature_bins is not None:
            metrics.feature_bins.count(rows)
        names = self.runtime.class_names
        if len(labels) == 1:
            metrics.traffic.record_predictions(((names[int(labels[0])], 1),), 1)
        else:
            values, counts = np.unique(labels, return_counts=True)
            metrics.traffic.record_predictions(zip([names[value] for value in values.tolist()], counts.tolist(), strict=True), len(labels))
        for item in out_of_range:
            metrics.out_of_range_by_feature[item.feature].inc()


def service() -> Service:
    """Return the Service of the current Flask app."""
    state: Service = current_app.extensions[EXTENSION]
    return state
