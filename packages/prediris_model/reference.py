"""The drift reference a model card carries: per feature, bin edges and the training split's share
of each bin; and the share of each class among the training labels.

Bins are the deciles of the training split's values, right-closed — a value v falls in bin i when
edges[i-1] < v <= edges[i] — and open-ended at both ends, so every value has a bin. The edges are
training values (the "inverted CDF" quantile), so every bin holds training rows; equal deciles (Iris
is measured to 0.1 cm: two features have only 8 distinct ones) merge into one edge, and an edge
equal to the training maximum is dropped, which would leave the last bin empty. The service counts
a served row with exactly `bin_of` (np.searchsorted, side "left"), so counting the training split
through the service gives back the card's shares.
"""

from typing import Any

import numpy as np

QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
BIN_RULE = "deciles of the training split, right-closed (lower, upper], open-ended at both ends; equal deciles merged"
# The label value of the last, open-ended bin (Prometheus's spelling of infinity).
LAST_BIN = "+Inf"


def bin_edges(values: np.ndarray) -> list[float]:
    """Return the sorted, distinct decile edges of `values`, each below the maximum."""
    deciles = np.unique(np.quantile(values, QUANTILES, method="inverted_cdf"))
    return [float(edge) for edge in deciles if edge < values.max()]


def bin_of(edges: np.ndarray | list[float], values: np.ndarray) -> np.ndarray:
    """Return the bin index of each value: i when edges[i-1] < value <= edges[i]."""
    return np.searchsorted(edges, values, side="left")


def bin_labels(edges: list[float]) -> list[str]:
    """Return each bin's label: its upper edge as Python prints it, and "+Inf" for the last."""
    return [repr(edge) for edge in edges] + [LAST_BIN]


def shares(indices: np.ndarray, size: int) -> list[float]:
    """Return the share of `indices` equal to 0, 1, … size-1."""
    counts = np.bincount(indices, minlength=size)
    return [round(float(count) / len(indices), 6) for count in counts]


def reference(features: np.ndarray, labels: np.ndarray, feature_names: list[str], class_names: list[str]) -> dict[str, Any]:
    """Return the card's `drift_reference` for the training split (`features`, `labels`)."""
    bins = {}
    for column, name in enumerate(feature_names):
        edges = bin_edges(features[:, column])
        bins[name] = {
            "edges": edges,
            "bins": bin_labels(edges),
            "shares": shares(bin_of(edges, features[:, column]), len(edges) + 1),
        }
    return {
        "data": "training split",
        "rows": len(features),
        "bin_rule": BIN_RULE,
        "features": bins,
        "classes": dict(zip(class_names, shares(labels, len(class_names)), strict=True)),
    }


def problem(card: dict[str, Any]) -> str | None:
    """Return what is wrong with the card's drift reference (None: usable, or absent)."""
    drift = card.get("drift_reference")
    if drift is None:
        return None
    try:
        features = drift["features"]
        if list(features) != [feature["name"] for feature in card["features"]]:
            return "its features are not the card's, in the card's order"
        for name, bins in features.items():
            edges, labels, shares_ = bins["edges"], bins["bins"], bins["shares"]
            if sorted(set(edges)) != list(edges) or labels != bin_labels(list(edges)) or len(shares_) != len(labels):
                return f"the bins of {name} are not sorted distinct edges with one label and one share per bin"
        if list(drift["classes"]) != list(card["classes"]):
            return "its classes are not the card's"
    except (KeyError, TypeError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None
