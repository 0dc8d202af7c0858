"""The WSGI fast path for `POST /predict`: Flask's replies and metrics, without Flask; Flask for the rest."""

import json
import logging

import pytest
from prometheus_client import CollectorRegistry

from prediris_api import create_app
from prediris_api.serving import accesslog
from prediris_metrics import PredirisMetrics

SETOSA = [5.1, 3.5, 1.4, 0.2]
ANSWERED = [
    {"X": SETOSA},
    {"X": [5, 3, 1, 0]},
    {"X": [SETOSA, [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]]},
    {"X": {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}},
    {"X": [9.5, 3.5, 1.4, 0.2]},  # out of the training range: a warning
    {"X": [[9.5, 3.5, 1.4, 0.2], SETOSA]},
]
REFUSED = [b"{", b"", b"[1]", b'{"X": []}', b'{"X": [1, 2]}', b'{"X": [1, 2, 3, "4"]}', b'{"X": [1, 2, 3, 4], "y": 1}']


def build(model_dir, fast: bool, **settings):
    metrics = PredirisMetrics(CollectorRegistry())
    app = create_app({"model_dir": str(model_dir), "metrics": metrics, "wsgi_fast_path": fast, **settings})
    return app, metrics


@pytest.fixture
def pair(model_dir):
    """(fast app, its metrics), (Flask-only app, its metrics)."""
    return build(model_dir, True), build(model_dir, False)


def reply(app, body: bytes, content_type="application/json", headers=None):
    response = app.test_client().post("/predict", data=body, content_type=content_type, headers=headers or {})
    return response.status_code, response.headers.get("Content-Type"), response.headers.get("Content-Length"), response.data


def series(metrics):
    """Every sample of the registry except timings, which differ by nature."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if "duration" not in sample.name
    }


@pytest.mark.parametrize("document", ANSWERED, ids=lambda document: json.dumps(document)[:40])
def test_a_well_formed_request_gets_exactly_flasks_reply_and_moves_the_same_series(pair, document):
    (fast, fast_metrics), (flask_only, flask_metrics) = pair
    body = json.dumps(document).encode()
    assert reply(fast, body) == reply(flask_only, body)
    assert series(fast_metrics) == series(flask_metrics)
    timed = {"method": "POST", "route": "/predict"}
    assert fast_metrics.registry.get_sample_value("prediris_http_request_duration_seconds_count", timed) == 1


@pytest.mark.parametrize("body", REFUSED, ids=repr)
def test_a_refused_request_is_answered_by_flask_as_without_the_fast_path_and_counted_once(pair, body):
    (fast, fast_metrics), (flask_only, flask_metrics) = pair
    answer = reply(fast, body)
    assert answer == reply(flask_only, body)
    assert answer[1] == "application/problem+json"
    assert series(fast_metrics) == series(flask_metrics)


def test_other_media_types_and_routes_go_to_flask(pair):
    (fast, _), (flask_only, _) = pair
    assert reply(fast, json.dumps({"X": SETOSA}).encode(), "text/plain") == reply(
        flask_only, json.dumps({"X": SETOSA}).encode(), "text/plain"
    )
    assert fast.test_client().get("/predict").status_code == 405


def test_well_formed_requests_never_reach_the_flask_view(model_dir):
    app, _ = build(model_dir, True)

    def view():
        raise AssertionError("Flask's view ran")

    app.view_functions["predict.predict"] = view
    assert reply(app, json.dumps({"X": SETOSA}).encode())[0] == 200


def test_an_unknown_request_hook_turns_the_fast_path_off_so_it_is_never_bypassed(model_dir, caplog):
    app, _ = build(model_dir, True)

    @app.before_request
    def require_a_key():
        return ("no key", 401)

    with caplog.at_level(logging.WARNING, logger="prediris"):
        assert reply(app, json.dumps({"X": SETOSA}).encode())[0] == 401
    assert "fast path is off" in caplog.text and "require_a_key" in caplog.text


KEY = "fast-path-key-0123456789"


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}, {}, {"X-API-Key": "wrong"}, {"Authorization": "Basic Zm9vOmJhcg=="}],
    ids=["bearer", "x-api-key", "no key", "wrong key", "other scheme"],
)
def test_with_api_keys_the_fast_path_answers_a_valid_key_and_flask_refuses_the_rest_alike(model_dir, headers):
    (fast, fast_metrics), (flask_only, flask_metrics) = build(model_dir, True, api_keys=KEY), build(model_dir, False, api_keys=KEY)
    body = json.dumps({"X": SETOSA}).encode()
    answer = reply(fast, body, headers=headers)
    assert answer == reply(flask_only, body, headers=headers)
    assert answer[0] == (200 if headers in ({"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}) else 401)
    assert series(fast_metrics) == series(flask_metrics)


def test_with_api_keys_a_keyed_request_still_never_reaches_the_flask_view(model_dir):
    app, _ = build(model_dir, True, api_keys=KEY)

    def view():
        raise AssertionError("Flask's view ran")

    app.view_functions["predict.predict"] = view
    assert reply(app, json.dumps({"X": SETOSA}).encode(), headers={"X-API-Key": KEY})[0] == 200
    assert reply(app, json.dumps({"X": SETOSA}).encode())[0] == 401


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "flask"])
def test_the_access_log_line_of_a_prediction_is_the_same_either_way(model_dir, caplog, fast):
    app, _ = build(model_dir, fast)
    accesslog.init_app(app)
    with caplog.at_level(logging.INFO, logger="prediris.access"):
        status, _, length, _ = reply(app, json.dumps({"X": SETOSA}).encode())
    (line,) = [json.loads(record.getMessage()) for record in caplog.records if record.name == "prediris.access"]
    assert line.pop("duration_ms") >= 0
    assert line == {"method": "POST", "path": "/predict", "status": status, "bytes": int(length), "remote": "127.0.0.1"}
