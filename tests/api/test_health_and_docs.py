"""Health, the model card, the index and the OpenAPI document."""

from openapi_spec_validator import validate


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


def test_the_model_route_returns_the_card(client, loaded):
    card = client.get("/model").get_json()
    assert card["sha256"] == loaded.sha256
    assert card["metrics"]["test"]["accuracy"] >= 0.9
    assert card["runtime_warnings"] == []


def test_the_index_lists_the_routes(client):
    assert "/predict" in client.get("/").get_json()["routes"]


def test_openapi_is_a_valid_3_1_document_covering_every_route(app, client):
    spec = client.get("/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    documented = {path.replace("{slug}", "<slug>") for path in spec["paths"]}
    served = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    undocumented = {rule for rule in served if rule not in documented and "<name>" not in rule}
    assert undocumented == set()
    assert "Problem" in spec["components"]["schemas"]
