"""The WSGI layer every request crosses: bounded labels, keys, 413, nosniff, secrets kept out of logs,
and the `POST /predict` shortcut (Flask's replies and metrics, without Flask; Flask for the rest)."""

import json
import logging
import random
import string

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from prediris_api import create_app
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
    assert "shortcut is off" in caplog.text and "require_a_key" in caplog.text


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
    app, _ = build(model_dir, fast, access_log=True)
    with caplog.at_level(logging.INFO, logger="prediris.access"):
        status, _, length, _ = reply(app, json.dumps({"X": SETOSA}).encode())
    (line,) = [json.loads(record.getMessage()) for record in caplog.records if record.name == "prediris.access"]
    assert line.pop("duration_ms") >= 0
    assert line == {"method": "POST", "path": "/predict", "status": status, "bytes": int(length), "remote": "127.0.0.1"}


def series_count(metrics) -> int:
    return sum(len(family.samples) for family in metrics.registry.collect())


def test_random_methods_and_paths_do_not_grow_the_metrics(model_dir):
    app, metrics = build(model_dir, True, access_log=True)
    client = app.test_client()
    client.get("/nowhere")
    client.open("/nowhere", method="BREW")
    client.open("/predict", method="BREW")  # the first of each kind creates its series once
    before = series_count(metrics)
    rng = random.Random(7)
    for _ in range(50):
        method = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(3, 200)))
        path = "/" + "".join(rng.choice(string.ascii_letters + "/") for _ in range(rng.randint(1, 300))).lstrip("/")
        assert client.open(path, method=method).status_code in (404, 405)
        assert client.open("/v2/models/" + path.strip("/").replace("/", "-") + "/infer", method=method).status_code < 500
    assert series_count(metrics) == before
    exposition = generate_latest(metrics.registry).decode()
    assert 'method="other"' in exposition and 'route="<unmatched>"' in exposition


def test_the_access_log_truncates_what_a_client_sends(model_dir, caplog):
    app, _ = build(model_dir, True, access_log=True)
    with caplog.at_level(logging.INFO, logger="prediris.access"):
        app.test_client().open("/" + "p" * 5000, method="M" * 500)
    (line,) = [json.loads(record.getMessage()) for record in caplog.records if record.name == "prediris.access"]
    assert len(line["method"]) <= 16 and len(line["path"]) <= 200


@pytest.mark.parametrize("path", ["/predict", "/health/ready", "/model", "/openapi.json", "/metrics", "/nowhere", "/v2/models/x/infer"])
def test_every_reply_says_nosniff(client, path):
    assert client.post(path, data=b"{}", content_type="application/json").headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"


def test_a_body_announced_over_the_limit_is_refused_413_before_flask_reads_it(model_dir):
    app, metrics = build(model_dir, True, max_body_bytes=100)
    response = app.test_client().post("/predict", data=b'{"X": [' + b"1," * 100 + b"1]}", content_type="application/json")
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["type"] == "/problems/body-too-large"
    assert metrics.registry.get_sample_value("prediris_invalid_requests_total", {"reason": "body-too-large"}) == 1


def test_api_keys_never_reach_a_log_line_or_a_metric(model_dir, caplog):
    app, metrics = build(model_dir, True, api_keys=KEY, access_log=True, log_level="DEBUG")
    client = app.test_client()
    wrong = "wrong-key-abcdefghijklmnop"
    with caplog.at_level(logging.DEBUG):
        for headers in (
            {"Authorization": f"Bearer {KEY}", "X-API-Key": KEY},
            {"Authorization": f"Bearer {wrong}", "X-API-Key": wrong},
            {"Authorization": f"Bearer {KEY}"},
            {"X-API-Key": wrong},
        ):
            client.post("/predict", data=json.dumps({"X": SETOSA}), content_type="application/json", headers=headers)
            client.post("/v2/models/iris-knn/infer", data=b"{}", content_type="application/json", headers=headers)
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    exposition = generate_latest(metrics.registry).decode()
    assert caplog.records, "the access log was on"
    for secret in (KEY, wrong, "Bearer"):
        assert secret not in logged
        assert secret not in exposition


def test_the_in_flight_gauge_does_not_count_the_scrape_reading_it(client):
    body = client.get("/metrics").data.decode()
    assert "prediris_http_requests_in_flight 0.0" in body.splitlines()
