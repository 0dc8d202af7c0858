"""Through the real server, under concurrency, every answer is exactly the loaded model's."""

import http.client
import json
import threading
from urllib.parse import urlparse

import numpy as np
import pytest

from prediris_model.dataset import load_dataset
from tests.support.servers import running_api

pytestmark = pytest.mark.e2e


def rows_to_check() -> np.ndarray:
    rng = np.random.default_rng(42)
    features, _ = load_dataset()
    grid = np.round(rng.uniform([4.0, 2.0, 1.0, 0.1], [8.0, 4.5, 7.0, 2.5], size=(300, 4)), 1)  # ties
    spread = rng.uniform(0.0, 10.0, size=(300, 4))  # random, extrapolations included
    return np.vstack([features, grid, spread])


def test_concurrent_single_rows_and_batches_get_exactly_the_models_answers(model_dir, loaded, tmp_path):
    rows = rows_to_check()
    expected_labels = loaded.estimator.predict(rows)
    expected_proba = loaded.estimator.predict_proba(rows)
    mismatches, failures = [], []

    def client(base, indices, batch_size):
        url = urlparse(base)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                payload = rows[chunk].tolist() if batch_size > 1 else rows[chunk[0]].tolist()
                connection.request("POST", "/predict", json.dumps({"X": payload}), {"Content-Type": "application/json"})
                response = connection.getresponse()
                body = json.loads(response.read())
                if response.status != 200:
                    failures.append((response.status, body))
                    continue
                answers = body["predictions"] if batch_size > 1 else [body]
                for index, answer in zip(chunk, answers, strict=True):
                    if (
                        answer["class_id"] != expected_labels[index]
                        or list(answer["probabilities"].values()) != expected_proba[index].tolist()
                    ):
                        mismatches.append(int(index))
        finally:
            connection.close()

    with running_api(model_dir, tmp_path / "server.log") as (base, _):
        order = np.random.default_rng(7).permutation(len(rows))
        threads = [threading.Thread(target=client, args=(base, order[worker::12], 1 if worker < 8 else 5)) for worker in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert failures == []
    assert mismatches == []
