"""Count served rows into the model card's reference bins, per feature: the input of the drift rules.

A row's value v of a feature falls in bin i when edges[i-1] < v <= edges[i] (open-ended at both
ends), as prediris_model/reference.py defines the bins at training. A request costs one lookup per
feature (`bisect` for a single row; for a batch one `np.searchsorted` per feature and one
`np.bincount`) and one lock. The counts are plain integers exported at scrape time by a collector
(prometheus_client's public custom-collector interface): one Counter child `.inc()` per feature
and row cost 2.6 times as much per one-row request (docs/drift.md, "Cost").
"""

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

FEATURE_ROWS = "prediris_feature_rows"
FEATURE_ROWS_HELP = (
    "Rows predicted, by feature and by the bin of the model card's drift reference the value falls in "
    "(bin: the bin's upper edge, +Inf for the last)."
)
FEATURE_ROWS_LABELS = ("feature", "bin", "model_version")


class FeatureBins:
    """One model's bins: the edges that pick a bin per feature, and the rows counted in each."""

    def __init__(self, model_version: str, features: Sequence[tuple[str, Sequence[float], Sequence[str]]]):
        """`features`: (name, edges, bin labels) in the order of a row's columns."""
        self._edge_lists = [[float(edge) for edge in edges] for _, edges, _ in features]
        self._edge_arrays = [np.asarray(edges, dtype=np.float64) for edges in self._edge_lists]
        # One flat list of counts: feature j's bin i is at first[j] + i.
        self._labels = [(name, label, model_version) for name, _, labels in features for label in labels]
        self._first = np.cumsum([0] + [len(labels) for _, _, labels in features[:-1]]).tolist()
        self._counts = [0] * len(self._labels)
        self._lock = threading.Lock()

    def count(self, rows: np.ndarray) -> None:
        """Count each row (shape (n, features)) once per feature, in the bin its value falls in."""
        counts = self._counts
        if len(rows) == 1:  # the common request: no array temporaries
            indices = [
                first + bisect_left(edges, value)
                for edges, first, value in zip(self._edge_lists, self._first, rows[0].tolist(), strict=True)
            ]
            with self._lock:
                for index in indices:
                    counts[index] += 1
            return
        flat = np.concatenate(
            [
                np.searchsorted(edges, rows[:, j], side="left") + first
                for j, (edges, first) in enumerate(zip(self._edge_arrays, self._first, strict=True))
            ]
        )
        added = np.bincount(flat, minlength=len(counts))
        nonzero = np.flatnonzero(added).tolist()
        amounts = added[nonzero].tolist()
        with self._lock:
            for index, amount in zip(nonzero, amounts, strict=True):
                counts[index] += amount

    def family(self) -> CounterMetricFamily:
        """Return the counts as the prediris_feature_rows_total family, every bin included."""
        with self._lock:
            counts = list(self._counts)
        family = CounterMetricFamily(FEATURE_ROWS, FEATURE_ROWS_HELP, labels=FEATURE_ROWS_LABELS)
        for labels, value in zip(self._labels, counts, strict=True):
            family.add_metric(labels, value)
        return family


class FeatureRowsCollector(Collector):
    """Expose the bins of the model being served (none: no samples) at each scrape."""

    def __init__(self, current: Callable[[], FeatureBins | None]):
        self._current = current

    def describe(self) -> list[CounterMetricFamily]:
        return [CounterMetricFamily(FEATURE_ROWS, FEATURE_ROWS_HELP, labels=FEATURE_ROWS_LABELS)]

    def collect(self) -> Iterator[CounterMetricFamily]:
        bins = self._current()
        yield self.describe()[0] if bins is None else bins.family()
