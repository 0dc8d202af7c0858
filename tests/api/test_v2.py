"""The Open Inference Protocol V2 routes: metadata, health, and inference round trips."""

import json
from importlib import metadata

import numpy as np
import pytest

from prediris_model.dataset import load_dataset

INFER = "/v2/models/iris-knn/infer"


def infer(client, body):
    return client.post(INFER, data=json.dumps(body), content_type="application/json")


def tensor(data, shape, datatype="FP64"):
    return {"inputs": [{"name": "input-0", "shape": shape, "datatype": datatype, "data": data}]}


def test_server_metadata_and_health(client):
    assert client.get("/v2").get_json() == {"name": "prediris", "version": metadata.version("prediris"), "extensions": []}
    assert client.get("/v2/health/live").get_json() == {"live": True}
    assert client.get("/v2/health/ready").get_json() == {"ready": True}
    assert client.get("/v2/models/iris-knn/ready").get_json() == {"name": "iris-knn", "ready": True}


def test_model_metadata_describes_inputs_and_outputs(client, loaded):
    body = client.get("/v2/models/iris-knn").get_json()
    assert body["name"] == "iris-knn"
    assert body["versions"] == [loaded.version]
    assert body["inputs"][0]["shape"] == [-1, 4]
    assert [output["name"] for output in body["outputs"]] == ["predict", "predict_proba"]


def test_infer_with_a_flat_fp32_tensor_returns_int64_predictions(client, loaded):
    response = infer(client, tensor([5.1, 3.5, 1.4, 0.2, 6.3, 3.3, 6.0, 2.5], [2, 4], "FP32") | {"id": "req-1"})
    body = response.get_json()
    assert response.status_code == 200
    assert body["id"] == "req-1"
    assert body["model_name"] == "iris-knn"
    assert body["model_version"] == loaded.version
    assert body["outputs"] == [{"name": "predict", "shape": [2], "datatype": "INT64", "data": [0, 2]}]


def test_infer_with_nested_data_and_requested_probabilities_matches_the_model(client, loaded):
    features, _ = load_dataset()
    request = tensor(features.tolist(), [150, 4]) | {"outputs": [{"name": "predict"}, {"name": "predict_proba"}]}
    outputs = {output["name"]: output for output in infer(client, request).get_json()["outputs"]}
    assert outputs["predict"]["data"] == loaded.estimator.predict(features).tolist()
    assert outputs["predict_proba"]["shape"] == [150, 3]
    assert outputs["predict_proba"]["datatype"] == "FP64"
    assert np.array_equal(np.array(outputs["predict_proba"]["data"]).reshape(150, 3), loaded.estimator.predict_proba(features))


def test_versioned_routes_accept_the_served_version_only(client, loaded):
    path = f"/v2/models/iris-knn/versions/{loaded.version}/infer"
    assert client.post(path, json=tensor([5.1, 3.5, 1.4, 0.2], [1, 4])).status_code == 200
    response = client.post("/v2/models/iris-knn/versions/000000000000/infer", json=tensor([5.1, 3.5, 1.4, 0.2], [1, 4]))
    assert response.status_code == 404
    assert "error" in response.get_json()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"inputs": []}, "exactly one tensor"),
        ([1, 2], "JSON object"),
        (tensor([5.1, 3.5, 1.4], [1, 3]), "shape"),
        (tensor([5.1, 3.5, 1.4], [1, 4]), "has 3 values"),
        (tensor([5.1, 3.5, 1.4, 0.2], [1, 4], "BYTES"), "FP32 or FP64"),
        (tensor([5.1, "x", 1.4, 0.2], [1, 4]), "must be a number"),
        (tensor([5.1, -1, 1.4, 0.2], [1, 4]), "negative"),
        (tensor([[5.1, 3.5], [1.4, 0.2]], [1, 4]), "nested"),
        (tensor([5.1, 3.5, 1.4, 0.2], [1, 4]) | {"outputs": [{"name": "logits"}]}, "unknown output"),
        (tensor([5.1, 3.5, 1.4, 0.2], [1, 4]) | {"extra": 1}, "unknown member"),
    ],
    ids=["no-inputs", "not-an-object", "wrong-width", "wrong-count", "datatype", "string", "negative", "nested-shape", "output", "member"],
)
def test_bad_inference_requests_answer_400_with_an_error_member(client, body, fragment):
    response = infer(client, body)
    assert response.status_code == 400
    assert set(response.get_json()) == {"error"}
    assert fragment in response.get_json()["error"]


def test_an_unknown_model_answers_404_in_v2_form(client):
    response = client.get("/v2/models/other")
    assert response.status_code == 404
    assert "iris-knn" in response.get_json()["error"]


def test_invalid_json_answers_400_in_v2_form(client):
    response = client.post(INFER, data=b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]


def predictions_counted(metrics) -> float:
    return sum(
        sample.value for family in metrics.registry.collect() for sample in family.samples if sample.name == "prediris_predictions_total"
    )


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        ([1e39, 3.5, 1.4, 0.2], "/inputs/0/data/0"),
        ([[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 3.5e38, 2.5]], "/inputs/0/data/1/2"),
    ],
    ids=["flat", "nested"],
)
def test_an_fp32_value_beyond_float32_answers_400_naming_it_and_counts_no_prediction(client, metrics, data, pointer):
    response = infer(client, tensor(data, [len(data) // 4 or len(data), 4], "FP32"))
    assert response.status_code == 400
    assert response.get_json() == {"error": f"inputs[0].data value at {pointer} is beyond the range of FP32 (±3.403e+38); send it as FP64"}
    assert predictions_counted(metrics) == 0


@pytest.mark.parametrize(
    ("value", "datatype"), [(3.4028234663852886e38, "FP32"), (1.7976931348623157e308, "FP64"), (5e-324, "FP64"), (1e-45, "FP32")]
)
def test_the_largest_and_smallest_values_of_a_datatype_are_predicted_with_a_warning_and_counted(client, metrics, value, datatype):
    response = infer(client, tensor([value, 3.5, 1.4, 0.2], [1, 4], datatype))
    assert response.status_code == 200
    assert response.get_json()["outputs"][0]["shape"] == [1]
    assert predictions_counted(metrics) == 1


def test_v2_errors_never_echo_more_than_a_few_cut_names(client):
    long = "k" * 10_000
    for body in (
        tensor([5.1, 3.5, 1.4, 0.2], [1, 4]) | {long + str(index): 1 for index in range(5)},
        tensor([5.1, 3.5, 1.4, 0.2], [1, 4], long),
        tensor([5.1, 3.5, 1.4, 0.2], [1] * 5000),
        tensor([5.1, 3.5, 1.4, 0.2], [1, 4]) | {"outputs": [{"name": long}]},
    ):
        response = infer(client, body)
        assert response.status_code == 400 and len(response.get_data()) < 500, response.get_data()[:200]


def test_a_reply_that_cannot_be_encoded_counts_no_prediction(client, metrics, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("Out of range float values are not JSON compliant")

    monkeypatch.setattr("prediris_api.routes.v2.encode_infer", broken)
    response = infer(client, tensor([5.1, 3.5, 1.4, 0.2], [1, 4]))
    assert response.status_code == 500 and "Out of range" not in response.get_data(as_text=True)
    assert predictions_counted(metrics) == 0
