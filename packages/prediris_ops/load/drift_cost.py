"""The per-row microbenchmark of drift counting (issue: at most 5 % of throughput), measured in the
bench's own process on the served model's card: what counting costs per request of one row and of
100 rows, in µs, best of several repeats (the least disturbed by the machine's other work)."""

import time
from pathlib import Path

import numpy as np

from prediris_metrics.drift import FeatureBins
from prediris_model.artifact import read_card

REPEATS, CALLS = 5, 20_000


def _best_us_per_call(count, rows: np.ndarray, calls: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for _ in range(calls):
            count(rows)
        best = min(best, (time.perf_counter() - started) / calls)
    return round(best * 1e6, 3)


def drift_counting_us(model_dir: Path, seed_row: list[float]) -> dict[str, float]:
    """µs that FeatureBins.count adds to a one-row and a 100-row request (bulk binning included)."""
    bins = FeatureBins.from_reference("bench", read_card(model_dir)["drift_reference"])
    one = np.array([seed_row], dtype=np.float64)
    hundred = np.repeat(one, 100, axis=0)
    return {
        "one_row_request_us": _best_us_per_call(bins.count, one, CALLS),
        "hundred_row_request_us": _best_us_per_call(bins.count, hundred, CALLS // 10),
    }
