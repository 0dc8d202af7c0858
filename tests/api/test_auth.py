"""Optional API keys: predictions need a key when keys are configured; everything else stays open."""

import json
import urllib.error
import urllib.request

import pytest

from prediris_api import create_app
from prediris_api.auth import KeyChecker
from prediris_ops.checks.smoke import first_key, run_checks
from tests.support.servers import running_api

KEYS = "first-key-0123456789, second-key-0123456789"
ONE_FLOWER = {"X": [5.1, 3.5, 1.4, 0.2]}
V2_ONE_FLOWER = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}


@pytest.fixture
def keyed_client(model_dir, metrics):
    return create_app({"model_dir": str(model_dir), "metrics": metrics, "api_keys": KEYS, "TESTING": True}).test_client()


def refusals(metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("prediris_auth_refusals_total", {"reason": reason})


def test_without_configured_keys_predictions_need_no_key(client):
    assert client.post("/predict", json=ONE_FLOWER).status_code == 200


@pytest.mark.parametrize("route", ["/predict", "/v2/models/iris-knn/infer"], ids=["predict", "v2-infer"])
def test_a_request_without_a_key_is_refused_401_with_a_challenge(keyed_client, metrics, route):
    response = keyed_client.post(route, json=ONE_FLOWER if route == "/predict" else V2_ONE_FLOWER)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="prediris"'
    assert refusals(metrics, "missing") == 1
    assert refusals(metrics, "invalid") == 0


def test_the_401_of_predict_is_problem_json_and_v2_keeps_its_error_form(keyed_client):
    problem = keyed_client.post("/predict", json=ONE_FLOWER)
    assert problem.mimetype == "application/problem+json"
    assert problem.get_json()["type"] == "/problems/unauthorized"
    v2 = keyed_client.post("/v2/models/iris-knn/versions/whatever/infer", json=V2_ONE_FLOWER)
    assert (v2.status_code, set(v2.get_json())) == (401, {"error"})


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer first-key-0123456789"},
        {"Authorization": "bearer second-key-0123456789"},
        {"X-API-Key": "second-key-0123456789"},
    ],
    ids=["bearer", "bearer-lowercase-scheme-second-key", "x-api-key"],
)
def test_any_configured_key_in_either_header_is_accepted(keyed_client, metrics, headers):
    assert keyed_client.post("/predict", json=ONE_FLOWER, headers=headers).status_code == 200
    assert keyed_client.post("/v2/models/iris-knn/infer", json=V2_ONE_FLOWER, headers=headers).status_code == 200
    assert refusals(metrics, "missing") == refusals(metrics, "invalid") == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"X-API-Key": "first-key-0123456789 "},
        {"Authorization": "Basic Zmlyc3Qta2V5"},
        {"X-API-Key": "first-key"},
    ],
    ids=["wrong-key", "trailing-space", "other-scheme", "prefix-of-a-key"],
)
def test_a_wrong_key_is_refused_as_invalid_and_never_echoed(keyed_client, metrics, headers):
    response = keyed_client.post("/predict", json=ONE_FLOWER, headers=headers)
    assert response.status_code == 401
    assert refusals(metrics, "invalid") == 1
    offered = next(iter(headers.values())).split()[-1]
    assert offered not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "route", ["/health/live", "/health/ready", "/model", "/openapi.json", "/", "/v2", "/v2/models/iris-knn", "/metrics"]
)
def test_health_docs_metadata_and_metrics_stay_open(keyed_client, route):
    assert keyed_client.get(route).status_code == 200


def test_refusals_are_not_counted_as_invalid_requests(keyed_client, metrics):
    keyed_client.post("/predict", json=ONE_FLOWER)
    assert metrics.registry.get_sample_value("prediris_invalid_requests_total", {"reason": "unauthorized"}) is None


def test_the_checker_tells_a_missing_key_from_an_invalid_one():
    checker = KeyChecker(["k1", "k2"])
    assert checker.refusal(None, None) == "missing"
    assert checker.refusal("Bearer k2", None) is None
    assert checker.refusal("Bearer", None) == "invalid"
    assert checker.refusal(None, "k3") == "invalid"
    assert checker.refusal(None, "é") == "invalid"


def test_the_real_server_answers_401_without_a_key_and_200_with_one(model_dir, tmp_path):
    with running_api(model_dir, tmp_path / "server.log", api_keys="s3cret-key-0123456789") as (base, _):

        def post(headers: dict) -> int:
            request = urllib.request.Request(
                base + "/predict", data=json.dumps(ONE_FLOWER).encode(), headers={"Content-Type": "application/json", **headers}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                with error:
                    assert error.headers["WWW-Authenticate"].startswith("Bearer")
                    return error.code

        assert post({}) == 401
        assert post({"Authorization": "Bearer s3cret-key-0123456789"}) == 200
        assert post({"X-API-Key": "s3cret-key-0123456789"}) == 200
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            exposition = response.read().decode()
        assert 'prediris_auth_refusals_total{reason="missing"} 1.0' in exposition
    assert "s3cret-key-0123456789" not in (tmp_path / "server.log").read_text()


def test_the_smoke_checks_pass_on_a_keyed_server_with_its_first_key_and_fail_without(model_dir, tmp_path):
    assert first_key(" , second, third") == "second" and first_key("") is None and first_key(None) is None
    with running_api(model_dir, tmp_path / "server.log", api_keys=KEYS) as (base, _):
        assert [check.name for check in run_checks(base, api_key=first_key(KEYS)) if not check.ok] == []
        failed = [check for check in run_checks(base) if not check.ok]
    assert {check.name for check in failed} >= {"predicts setosa", "predicts versicolor", "predicts virginica"}
    assert all("HTTP 401" in check.detail for check in failed)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-API-Key": "first-key-0123456789", "Authorization": "Bearer wrong"}, 200),
        ({"X-API-Key": "wrong", "Authorization": "Bearer first-key-0123456789"}, 401),
        ({"X-API-Key": "first-key-0123456789", "Authorization": "Basic Zmlyc3Qta2V5"}, 200),
    ],
    ids=["valid-x-api-key-wins", "wrong-x-api-key-is-not-rescued-by-bearer", "other-scheme-ignored-beside-x-api-key"],
)
def test_with_both_headers_x_api_key_decides_and_authorization_is_ignored(keyed_client, metrics, headers, status):
    for route, body in (("/predict", ONE_FLOWER), ("/v2/models/iris-knn/infer", V2_ONE_FLOWER)):
        assert keyed_client.post(route, json=body, headers=headers).status_code == status
    assert refusals(metrics, "invalid") == (2 if status == 401 else 0)
