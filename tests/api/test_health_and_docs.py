"""Health, the model card, the index and the OpenAPI document."""

import re

import pytest
from openapi_spec_validator import validate

from prediris_api import create_app


def test_liveness_and_readiness(client, loaded):
    assert client.get("/health/live").get_json() == {"status": "live"}
    assert client.get("/health/ready").get_json() == {"status": "ready", "model_version": loaded.version}


def test_readiness_turns_503_while_draining(app, client):
    from prediris_api.service import EXTENSION

    app.extensions[EXTENSION].draining.set()
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert client.get("/health/live").status_code == 200


def test_the_model_route_returns_the_card_with_runtime_details_by_default(client, loaded):
    card = client.get("/model").get_json()
    assert card["sha256"] == loaded.sha256
    assert card["metrics"]["test"]["accuracy"] >= 0.9
    assert card["versions"]["scikit-learn"] == loaded.card["versions"]["scikit-learn"]
    assert card["runtime_warnings"] == []


def test_without_runtime_exposure_the_card_keeps_the_model_and_its_quality_but_no_library_versions(model_dir, metrics, loaded):
    client = create_app({"model_dir": str(model_dir), "metrics": metrics, "expose_runtime": False, "TESTING": True}).test_client()
    card = client.get("/model").get_json()
    assert (card["name"], card["version"], card["classes"]) == ("iris-knn", loaded.version, ["setosa", "versicolor", "virginica"])
    assert [feature["name"] for feature in card["features"]] == [feature["name"] for feature in loaded.card["features"]]
    assert card["metrics"]["test"]["accuracy"] >= 0.9 and card["quality_gate"]["passed"] is True
    assert "versions" not in card and "runtime_warnings" not in card
    assert client.get("/v2/models/iris-knn").get_json()["platform"] == "scikit-learn"


def test_the_index_lists_the_routes(client):
    assert "/predict" in client.get("/").get_json()["routes"]


def served_and_documented(app, client) -> tuple[set, set]:
    """Return (method, rule) pairs the app serves (Flask's routes, and /metrics when the WSGI layer answers it)
    and the ones /openapi.json documents, in Flask's spelling."""
    spec = client.get("/openapi.json").get_json()
    validate(spec)
    documented = {
        (method.upper(), re.sub(r"\{(\w+)\}", r"<\1>", path)) for path, operations in spec["paths"].items() for method in operations
    }
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    if client.get("/metrics").status_code == 200:
        served.add(("GET", "/metrics"))
    return served, documented


@pytest.mark.parametrize(
    "settings", [{}, {"api_keys": "docs-key-0123456789", "metrics_port": 9109}], ids=["defaults", "keys-and-metrics-port"]
)
def test_openapi_is_a_valid_3_1_document_covering_every_route_and_only_those(model_dir, metrics, settings):
    app = create_app({"model_dir": str(model_dir), "metrics": metrics, "TESTING": True, **settings})
    served, documented = served_and_documented(app, app.test_client())
    assert served == documented
    assert len(served) > 15


def test_every_operation_states_its_security_and_only_predictions_need_a_key(model_dir, metrics):
    app = create_app({"model_dir": str(model_dir), "metrics": metrics, "api_keys": "docs-key-0123456789", "TESTING": True})
    spec = app.test_client().get("/openapi.json").get_json()
    secured = {operation["operationId"] for item in spec["paths"].values() for operation in item.values() if operation["security"]}
    assert secured == {"predict", "v2Infer", "v2InferVersion"}
    assert set(spec["components"]["securitySchemes"]) == {"bearerKey", "headerKey"}
    assert "401" in spec["paths"]["/predict"]["post"]["responses"]


def test_without_keys_the_document_declares_no_scheme_and_no_401(client):
    spec = client.get("/openapi.json").get_json()
    assert "securitySchemes" not in spec["components"]
    assert all(operation["security"] == [] for item in spec["paths"].values() for operation in item.values())
    assert spec["servers"]


def test_the_v2_infer_route_documents_and_answers_415_to_a_declared_non_json_body(client):
    spec = client.get("/openapi.json").get_json()
    assert "415" in spec["paths"]["/v2/models/{name}/infer"]["post"]["responses"]
    response = client.post("/v2/models/iris-knn/infer", data="inputs", content_type="text/plain")
    assert (response.status_code, set(response.get_json())) == (415, {"error"})
