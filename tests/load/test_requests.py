"""The request mix: reproducible from the Iris data, and every line a request the API answers right."""

import json

from prediris_model.dataset import CLASS_NAMES
from prediris_ops.core.paths import ROOT
from prediris_ops.load.requests import REQUESTS_CSV, read_requests_csv, request_bodies, write_requests_csv


def test_the_committed_csv_is_what_the_generator_writes(tmp_path):
    regenerated = write_requests_csv(tmp_path / "requests.csv")
    assert regenerated.read_text() == (ROOT / REQUESTS_CSV).read_text()


def test_the_mix_has_single_flowers_and_small_batches_of_both_shapes():
    lines = request_bodies()
    sizes = {line["rows"] for line in lines}
    assert 1 in sizes and sizes - {1}
    assert 0.5 < sum(line["rows"] == 1 for line in lines) / len(lines) < 0.9
    bodies = [json.loads(line["body"])["X"] for line in lines]
    assert any(isinstance(body, dict) for body in bodies), "features by name"
    assert any(isinstance(body, list) and isinstance(body[0], float) for body in bodies), "features in order"
    assert {line["species"] for line in lines} == set(CLASS_NAMES)


def test_every_line_is_answered_with_one_known_species_per_row(client):
    for line in read_requests_csv(ROOT / REQUESTS_CSV):
        response = client.post("/predict", data=line["body"], content_type="application/json")
        assert response.status_code == 200, line
        answer = response.get_json()
        predictions = answer.get("predictions", [answer])
        assert len(predictions) == line["rows"] and {item["prediction"] for item in predictions} <= set(CLASS_NAMES), line
