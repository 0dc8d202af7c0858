"""The runtime answers exactly what the loaded scikit-learn model answers, also under concurrency."""

import json
import threading

import numpy as np
import pytest

from prediris_api.runtime.model import ModelRuntime
from prediris_model.dataset import load_dataset


def random_rows(count, seed=7):
    rng = np.random.default_rng(seed)
    return rng.uniform([0.0, 0.0, 0.0, 0.0], [10.0, 6.0, 9.0, 4.0], size=(count, 4))


@pytest.mark.parametrize("kernel", ["auto", "public"])
def test_runtime_outputs_equal_predict_and_predict_proba(loaded, kernel):
    runtime = ModelRuntime(loaded, kernel=kernel)
    assert runtime.kernel_name == {"auto": "direct", "public": "public"}[kernel]
    features, _ = load_dataset()
    rows = np.vstack([features, random_rows(500), np.round(random_rows(500, seed=3), 1)])
    labels, proba = runtime.predict(rows)
    assert np.array_equal(labels, loaded.estimator.predict(rows))
    assert np.array_equal(proba, loaded.estimator.predict_proba(rows))


def test_served_answers_equal_the_model_under_concurrency(client, loaded):
    features, _ = load_dataset()
    rows = np.vstack([features, random_rows(150), np.round(random_rows(150, seed=11), 1)])
    expected_labels = loaded.estimator.predict(rows)
    expected_proba = loaded.estimator.predict_proba(rows)
    mismatches = []
    app = client.application

    def worker(indices):
        local = app.test_client()
        for index in indices:
            body = local.post("/predict", data=json.dumps({"X": rows[index].tolist()}), content_type="application/json").get_json()
            if body["class_id"] != expected_labels[index] or list(body["probabilities"].values()) != expected_proba[index].tolist():
                mismatches.append(index)

    threads = [threading.Thread(target=worker, args=(range(start, len(rows), 8),)) for start in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert mismatches == []
