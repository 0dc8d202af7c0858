"""Count served rows into the model card's reference bins, per feature: the input of the drift rules.

A row's value v of a feature falls in bin i when edges[i-1] < v <= edges[i] (open-ended at both
ends), as prediris_model/reference.py defines the bins at training. A request costs one lookup per
feature and one counter increment per non-empty bin: `bisect` for a single row, and for a batch one
`np.searchsorted` per feature and one `np.bincount` over all of them.
"""

from bisect import bisect_left
from collections.abc import Sequence

import numpy as np
from prometheus_client import Counter


class FeatureBins:
    """The counter children of one model's bins, in feature order, and the edges that pick them."""

    def __init__(self, edges: Sequence[Sequence[float]], children: Sequence[Sequence[Counter]]):
        self._edge_lists = [list(map(float, feature_edges)) for feature_edges in edges]
        self._edge_arrays = [np.asarray(feature_edges, dtype=np.float64) for feature_edges in self._edge_lists]
        # One flat list of children: feature j's bin i is at first[j] + i.
        self._children = [child for feature_children in children for child in feature_children]
        self._first = np.cumsum([0] + [len(feature_children) for feature_children in children[:-1]]).tolist()

    def count(self, rows: np.ndarray) -> None:
        """Count each row (shape (n, features)) once per feature, in the bin its value falls in."""
        children = self._children
        if len(rows) == 1:  # the common request: no array temporaries
            for edges, first, value in zip(self._edge_lists, self._first, rows[0].tolist(), strict=True):
                children[first + bisect_left(edges, value)].inc()
            return
        flat = np.concatenate(
            [
                np.searchsorted(edges, rows[:, j], side="left") + first
                for j, (edges, first) in enumerate(zip(self._edge_arrays, self._first, strict=True))
            ]
        )
        counts = np.bincount(flat, minlength=len(children))
        for index in np.flatnonzero(counts).tolist():
            children[index].inc(int(counts[index]))
