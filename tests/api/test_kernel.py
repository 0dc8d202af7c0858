"""The direct kernel: used only for the model kinds it supports, and only when verified equal."""

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from prediris_api.runtime import kernel as kernel_module
from prediris_api.runtime.kernel import build_kernel, probe_rows
from prediris_model.dataset import load_dataset


def fitted(**params):
    features, labels = load_dataset()
    return KNeighborsClassifier(**params).fit(features, labels)


def test_the_kernel_equals_predict_and_predict_proba_on_the_probe_rows(loaded):
    kernel = build_kernel(loaded.estimator)
    assert kernel is not None
    rows = probe_rows(loaded.estimator._fit_X, seed=1)
    for batch in (rows, *(rows[i : i + 1] for i in range(len(rows)))):  # all at once, then alone
        labels, proba = kernel(batch)
        assert np.array_equal(labels, loaded.estimator.predict(batch))
        assert np.array_equal(proba, loaded.estimator.predict_proba(batch))


def test_unsupported_models_use_the_public_api():
    assert build_kernel(fitted(n_neighbors=5, weights="distance", algorithm="brute")) is None
    assert build_kernel(fitted(n_neighbors=5, algorithm="kd_tree")) is None


def test_a_kernel_that_disagrees_is_refused(loaded, monkeypatch, caplog):
    original = np.bincount

    def skewed(values, minlength=0):
        counts = original(values, minlength=minlength)
        counts[0] += 1  # one extra vote for the first class of the first row
        return counts

    monkeypatch.setattr(kernel_module.np, "bincount", skewed)
    assert build_kernel(loaded.estimator) is None
    assert "disagreed" in caplog.text


def test_ties_at_the_kth_neighbour_are_broken_exactly_as_scikit_learn_breaks_them():
    # Query 0.0: neighbours at distance 1 on both sides carry different labels (a tie between
    # labels, left to scikit-learn) or the same label (settled by the kernel itself).
    features = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.0, -3.0], [5.0, 5.0], [-5.0, 5.0]])
    for labels in ([0, 1, 1, 0, 1, 0], [1, 1, 0, 0, 1, 0], [0, 1, 0, 1, 0, 1]):
        for k in (1, 2, 3, 4):
            model = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(features, labels)
            kernel = build_kernel(model)
            assert kernel is not None
            queries = np.array([[0.0, 0.0], [0.0, 0.5], [0.5, 0.0], [3.0, 3.0], [0.0, 1e200]])
            for rows in (queries, *(queries[i : i + 1] for i in range(len(queries)))):  # all at once, then alone
                got_labels, got_proba = kernel(rows)
                assert np.array_equal(got_labels, model.predict(rows))
                assert np.array_equal(got_proba, model.predict_proba(rows))


def test_the_kernel_matches_on_duplicates_and_extreme_magnitudes(loaded):
    kernel = build_kernel(loaded.estimator)
    fitted = loaded.estimator._fit_X
    rows = np.vstack([fitted, fitted + 0.05, [[0.0, 0.0, 0.0, 0.0], [1e-300, 0, 0, 0], [1e150, 1, 1, 1], [1.7e308, 1.7e308, 0, 0]]])
    for batch in (rows, *(rows[i : i + 1] for i in range(len(rows)))):  # all at once, then alone
        labels, proba = kernel(batch)
        assert np.array_equal(labels, loaded.estimator.predict(batch))
        assert np.array_equal(proba, loaded.estimator.predict_proba(batch))
