"""Fast exact predictions for a uniform-weight, brute-force `KNeighborsClassifier`, verified at load.

`predict_proba` validates its input (about 0.25 ms of Python per call, whatever the number of
rows), finds the k nearest training rows with `ArgKmin.compute` (what `kneighbors` runs), counts
their labels and divides by k; `predict` is the most frequent label, the smallest on ties. The
kernel gives the same answers in two steps:

1. Certified numpy path. Squared distances to every training row, and the k-th and (k+1)-th
   smallest. When the gap between them is larger than TOLERANCE times the squares' magnitude (a
   bound many orders of magnitude above the rounding error of any way of computing these
   distances, scikit-learn's included), the set of k nearest rows is the same whoever computes
   it, so the label counts — hence `predict_proba` and `predict` — are too. When rows tie at the
   boundary but every tied row has the same label, the counts are still determined. A single row,
   the common request, takes a shorter route to the same test (a handful of NumPy calls).
2. Otherwise (a tie at the boundary between different labels, or magnitudes that overflow), the
   row goes to scikit-learn's own neighbour search, `ArgKmin.compute`, with the same arguments
   `kneighbors` passes, so scikit-learn breaks the tie exactly as it would.

The search routine is private to scikit-learn, so nothing is taken on trust: `build_kernel`
returns None (and the runtime uses the public API) unless the estimator is of the supported kind,
the routine exists, and the kernel's labels and probabilities are bit-for-bit equal to `predict`
and `predict_proba` on a probe set of training rows, tie-prone 0.1 cm grid rows and random rows,
alone and in batches.
"""

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

log = logging.getLogger(__name__)
Kernel = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
Counts = Callable[[np.ndarray], np.ndarray]

# Relative bound under which two squared distances are treated as possibly equal. Rounding errors
# of float64 distance computations are ~1e-15 of the squares' magnitude; this leaves a margin of 10^5.
TOLERANCE = 1e-10
# Squared norms below this cannot overflow a squared distance: |2 x.y| <= |x|^2 + |y|^2 < 2e300.
SAFE_SQUARE = 1e300
# Up to this many training rows, sorting a row's distances is faster than partitioning them.
SORT_ROWS = 2048
# At most this many one-row answers are kept (one per sequence of nearest labels).
MAX_SHARED_ANSWERS = 4096
# The verification's outcome per model file (its SHA-256) in this process: None (equal) or the mismatch.
# The same bytes give the same estimator, so an app built again on that file (tests, reloads) skips it.
_verified: dict[str, str | None] = {}


def build_kernel(estimator: KNeighborsClassifier, sha256: str | None = None) -> Kernel | None:
    """Return a verified `rows -> (labels, probabilities)` for `estimator`, or None with the reason logged.

    `sha256` names the model file the estimator was loaded from: its verification runs once per process.
    """
    reason = _unsupported(estimator)
    if reason is None:
        try:
            from sklearn.metrics._pairwise_distances_reduction import ArgKmin  # noqa: PLC0415
        except ImportError as error:
            reason = f"this scikit-learn has no ArgKmin ({error})"
        else:
            if not ArgKmin.is_usable_for(estimator._fit_X[:1], estimator._fit_X, estimator.effective_metric_):
                reason = f"ArgKmin does not support metric {estimator.effective_metric_!r}"
    if reason is not None:
        log.info("model kernel: public predict/predict_proba (%s)", reason)
        return None

    counts = _sklearn_counts(estimator, ArgKmin)
    classes = np.asarray(estimator.classes_)
    if estimator.effective_metric_ == "euclidean":
        kernel = _certified(estimator, counts)
    else:

        def kernel(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _answer(counts(rows), classes)

    mismatch = _verified[sha256] if sha256 in _verified else _verify(kernel, estimator)
    if sha256 is not None:
        _verified[sha256] = mismatch
    if mismatch:
        log.warning("model kernel: public predict/predict_proba (the direct kernel disagreed: %s)", mismatch)
        return None
    log.info("model kernel: direct neighbour search, verified equal to predict and predict_proba")
    return kernel


def _votes(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Count labels per row: (n, k) class indices -> (n, n_classes) float64 counts."""
    rows = len(labels)
    offsets = labels + (np.arange(rows)[:, None] * n_classes)
    return np.bincount(offsets.ravel(), minlength=rows * n_classes).reshape(rows, n_classes).astype(np.float64)


def _answer(counts: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # predict_proba divides each count by their sum (k); predict takes the first largest count.
    return classes[counts.argmax(axis=1)], counts / counts.sum(axis=1, keepdims=True)


def _answer_k(counts: np.ndarray, classes: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    # Every row's counts sum to exactly k (small integers in float64): the same division.
    return classes[counts.argmax(axis=1)], counts / k


def _sklearn_counts(estimator: KNeighborsClassifier, search_routine: Any) -> Counts:
    """Label counts of the k nearest rows found by scikit-learn's own neighbour search."""
    fitted = estimator._fit_X
    labels_of_fitted = np.asarray(estimator._y, dtype=np.intp)
    n_classes = len(estimator.classes_)
    neighbours = estimator.n_neighbors
    metric = estimator.effective_metric_
    metric_kwargs = dict(estimator.effective_metric_params_)

    def counts(rows: np.ndarray) -> np.ndarray:
        nearest = search_routine.compute(
            X=rows, Y=fitted, k=neighbours, metric=metric, metric_kwargs=metric_kwargs, strategy="auto", return_distance=False
        )
        return _votes(labels_of_fitted[nearest], n_classes)

    return counts


def _certified(estimator: KNeighborsClassifier, sklearn_counts: Counts) -> Kernel:
    """Numpy distances where the k nearest set is certain; scikit-learn's search where it is not."""
    fitted = np.ascontiguousarray(estimator._fit_X)
    minus_twice_fitted = -2.0 * fitted  # exact: a power of two
    minus_twice_fitted_t = np.ascontiguousarray(minus_twice_fitted.T)
    fitted_norms = (fitted * fitted).sum(axis=1)
    tolerance_base = TOLERANCE * (1.0 + float(fitted_norms.max()))
    labels_of_fitted = np.asarray(estimator._y, dtype=np.intp)
    classes = np.asarray(estimator.classes_)
    one_hot = np.eye(len(classes))[labels_of_fitted]
    k = estimator.n_neighbors
    if k >= len(fitted):  # every training row is a neighbour: nothing to certify

        def every_row(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _answer(sklearn_counts(rows), classes)

        return every_row

    def settle_ties(counts: np.ndarray, tied: np.ndarray, distances: np.ndarray, kth: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
        # Rows within the tolerance of the k-th distance may be in or out; where they all carry
        # the same label, the counts do not depend on which of them are taken. Returns the rows
        # left for scikit-learn: a tie between labels, or distances that overflowed.
        with np.errstate(over="ignore", invalid="ignore"):
            band = np.abs(distances - kth[:, None]) <= tolerance[:, None]
            inside = distances < (kth - tolerance)[:, None]
            band_classes = (band @ one_hot) > 0
            settled = (band_classes.sum(axis=1) == 1) & np.isfinite(kth) & np.isfinite(tolerance)
            settled_counts = inside @ one_hot + (k - inside.sum(axis=1))[:, None] * band_classes
        counts[tied[settled]] = settled_counts[settled]
        unsettled: np.ndarray = tied[~settled]
        return unsettled

    # One row (almost every request): the same certified test with a handful of NumPy calls. Its squared
    # distances leave out the row's own squared norm, the same for every training row, so the order and
    # the gaps are the same; and with the row's squared norm below SAFE_SQUARE (and the training rows')
    # nothing can overflow, so no floating-point state needs to be set. Anything else: the general path.
    single_row_ok = float(fitted_norms.max()) < SAFE_SQUARE
    sort_whole = len(fitted) <= SORT_ROWS
    # The labels of the training rows in the smallest integer type: a row's nearest labels, in training
    # order, are the key of its answer.
    label_codes = labels_of_fitted.astype(np.min_scalar_type(len(classes) - 1))

    def kernel(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(rows) == 1 and single_row_ok:
            row = rows[0]
            row_norm = sum([value * value for value in row.tolist()])
            if row_norm < SAFE_SQUARE:
                shifted = np.dot(minus_twice_fitted, row)
                shifted += fitted_norms
                ordered = shifted.copy()
                if sort_whole:
                    ordered.sort()
                else:
                    ordered.partition((k - 1, k))
                kth = ordered.item(k - 1)
                if ordered.item(k) - kth > row_norm * TOLERANCE + tolerance_base:
                    nearest = shifted <= kth
                    known = answers.get(label_codes[nearest].tobytes())
                    return known or answer_of(nearest)
        return batch(rows)

    # The answers of one row, by the labels of its k nearest rows (in training order): few such
    # sequences occur, so each answer is computed once (the same expression as a batch's), kept
    # read-only, and shared.
    answers: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def answer_of(nearest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        answer = _answer_k(np.dot(nearest, one_hot)[None, :], classes, float(k))
        for array in answer:
            array.flags.writeable = False
        if len(answers) < MAX_SHARED_ANSWERS:
            answers[label_codes[nearest].tobytes()] = answer
        return answer

    def batch(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            row_norms = (rows * rows).sum(axis=1)
            squared = rows @ minus_twice_fitted_t
            squared += fitted_norms
            squared += row_norms[:, None]
            ordered = np.sort(squared, axis=1)
            kth = ordered[:, k - 1]
            tolerance = row_norms * TOLERANCE + tolerance_base
            clear = ordered[:, k] - kth > tolerance
            # Where the gap is clear, exactly the k nearest rows are within the k-th distance.
            counts = (squared <= kth[:, None]) @ one_hot
        if not clear.all():
            tied = np.flatnonzero(~clear)
            unsettled = settle_ties(counts, tied, squared[tied], kth[tied], tolerance[tied])
            if len(unsettled):
                counts[unsettled] = sklearn_counts(rows[unsettled])
        return _answer_k(counts, classes, float(k))

    return kernel


def _unsupported(estimator: KNeighborsClassifier) -> str | None:
    if type(estimator) is not KNeighborsClassifier:
        return f"{type(estimator).__name__} is not a KNeighborsClassifier"
    if estimator.weights != "uniform":
        return f"weights={estimator.weights!r}"
    if getattr(estimator, "_fit_method", None) != "brute":
        return f"algorithm fitted as {getattr(estimator, '_fit_method', None)!r}, not brute"
    if getattr(estimator, "outputs_2d_", False):
        return "multi-output model"
    fitted = getattr(estimator, "_fit_X", None)
    if not isinstance(fitted, np.ndarray) or fitted.dtype != np.float64 or not fitted.flags.c_contiguous:
        return "fitted data is not a C-ordered float64 array"
    if estimator.metric == "precomputed" or callable(estimator.metric):
        return f"metric={estimator.metric!r}"
    return None


def probe_rows(fitted: np.ndarray, seed: int = 20261126) -> np.ndarray:
    """Rows that exercise ties and extrapolation: the training rows, a 0.1 cm grid, random points."""
    rng = np.random.default_rng(seed)
    low, high = fitted.min(axis=0), fitted.max(axis=0)
    span = high - low
    grid = np.round(rng.uniform(low - span / 2, high + span / 2, size=(600, fitted.shape[1])), 1).clip(min=0)
    spread = rng.uniform(0, high * 2, size=(300, fitted.shape[1]))
    return np.ascontiguousarray(np.vstack([fitted, grid, spread]), dtype=np.float64)


def _in_chunks(kernel: Kernel, rows: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    parts = [kernel(rows[start : start + size]) for start in range(0, len(rows), size)]
    return np.concatenate([labels for labels, _ in parts]), np.concatenate([proba for _, proba in parts])


def _verify(kernel: Kernel, estimator: KNeighborsClassifier) -> str | None:
    rows = probe_rows(estimator._fit_X)
    expected_labels = estimator.predict(rows)
    expected_proba = estimator.predict_proba(rows)
    try:
        runs = {"batched": kernel(rows), "single-row": _in_chunks(kernel, rows, 1), "chunked": _in_chunks(kernel, rows, 13)}
    except Exception as error:  # any failure of a private routine means: use the public one
        return f"{type(error).__name__}: {error}"
    for name, (labels, proba) in runs.items():
        if not np.array_equal(labels, expected_labels):
            return f"{name} labels differ from predict"
        if not np.array_equal(proba, expected_proba):
            return f"{name} probabilities differ from predict_proba"
    return None
