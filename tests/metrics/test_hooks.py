"""init_app's hooks: every request moves the right series, whatever its outcome, on a registry of its own."""

import pytest

from prediris_api.service import EXTENSION

SETOSA, VERSICOLOR, VIRGINICA = [5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]


def sample(metrics, name, **labels):
    """The current value of one series; 0 when it has not been created."""
    return metrics.registry.get_sample_value(name, labels) or 0.0


def requests(metrics, method, route, status):
    return sample(metrics, "prediris_http_requests_total", method=method, route=route, status=status)


def timed(metrics, method, route):
    return sample(metrics, "prediris_http_request_duration_seconds_count", method=method, route=route)


def predictions(metrics):
    return {name: sample(metrics, "prediris_predictions_total", class_name=name) for name in ("setosa", "versicolor", "virginica")}


def test_a_successful_prediction_is_counted_timed_and_tallied_by_class(client, metrics):
    response = client.post("/predict", json={"X": SETOSA})
    assert response.status_code == 200
    assert requests(metrics, "POST", "/predict", "200") == 1
    assert timed(metrics, "POST", "/predict") == 1
    assert sample(metrics, "prediris_http_request_duration_seconds_sum", method="POST", route="/predict") > 0
    assert predictions(metrics) == {"setosa": 1, "versicolor": 0, "virginica": 0}
    assert sample(metrics, "prediris_prediction_rows_per_request_count") == 1
    assert sample(metrics, "prediris_prediction_rows_per_request_sum") == 1
    assert sample(metrics, "prediris_http_requests_in_flight") == 0


def test_a_batch_counts_each_row_under_its_predicted_class(client, metrics):
    response = client.post("/predict", json={"X": [SETOSA, VERSICOLOR, VIRGINICA, VIRGINICA]})
    assert response.status_code == 200
    assert requests(metrics, "POST", "/predict", "200") == 1
    assert predictions(metrics) == {"setosa": 1, "versicolor": 1, "virginica": 2}
    assert sample(metrics, "prediris_prediction_rows_per_request_count") == 1
    assert sample(metrics, "prediris_prediction_rows_per_request_sum") == 4
    # Four rows land in the le=4 bucket, not in le=2.
    assert sample(metrics, "prediris_prediction_rows_per_request_bucket", le="2.0") == 0
    assert sample(metrics, "prediris_prediction_rows_per_request_bucket", le="4.0") == 1


def test_out_of_range_values_are_counted_per_feature(client, metrics):
    response = client.post("/predict", json={"X": [[9.5, 3.5, 1.4, 0.2], [5.1, 3.5, 1.4, 9.0]]})
    assert response.status_code == 200
    assert sample(metrics, "prediris_out_of_range_features_total", feature="sepal_length") == 1
    assert sample(metrics, "prediris_out_of_range_features_total", feature="petal_width") == 1
    assert sample(metrics, "prediris_out_of_range_features_total", feature="sepal_width") == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        (b"{not json", "application/json", "400", "invalid-json"),
        (b'{"X": [5.1, 3.5]}', "application/json", "400", "invalid-shape"),
        (b'{"X": [5.1, 3.5, "a", 0.2]}', "application/json", "400", "invalid-value"),
        (b"X=1", "text/plain", "415", "unsupported-media-type"),
    ],
    ids=["invalid-json", "invalid-shape", "invalid-value", "wrong-media-type"],
)
def test_a_refused_request_is_counted_with_its_status_and_reason_and_predicts_nothing(client, metrics, body, content_type, status, reason):
    response = client.post("/predict", data=body, content_type=content_type)
    assert response.status_code == int(status)
    assert requests(metrics, "POST", "/predict", status) == 1
    assert requests(metrics, "POST", "/predict", "200") == 0
    assert timed(metrics, "POST", "/predict") == 1
    assert sample(metrics, "prediris_invalid_requests_total", reason=reason) == 1
    assert sum(predictions(metrics).values()) == 0
    assert sample(metrics, "prediris_prediction_rows_per_request_count") == 0
    assert sample(metrics, "prediris_http_requests_in_flight") == 0


def test_a_server_error_is_counted_as_500_and_not_as_invalid_input(app, client, metrics, monkeypatch):
    def broken(rows):
        raise RuntimeError("the model fell over")

    monkeypatch.setattr(app.extensions[EXTENSION].runtime, "predict", broken)
    response = client.post("/predict", json={"X": SETOSA})
    assert response.status_code == 500
    assert requests(metrics, "POST", "/predict", "500") == 1
    assert timed(metrics, "POST", "/predict") == 1
    assert sum(sample(metrics, "prediris_invalid_requests_total", reason=reason) for reason in ("internal-error", "bad-request")) == 0
    assert sum(predictions(metrics).values()) == 0
    assert sample(metrics, "prediris_http_requests_in_flight") == 0


def test_unknown_paths_share_one_route_label_whatever_clients_send(client, metrics):
    for path in ("/nope", "/predict/extra", "/wp-admin/../etc/passwd", "/%F0%9F%90%8D"):
        assert client.get(path).status_code == 404
    assert requests(metrics, "GET", "<unmatched>", "404") == 4
    assert timed(metrics, "GET", "<unmatched>") == 4
    assert sample(metrics, "prediris_invalid_requests_total", reason="not-found") == 4
    routes = {
        sample.labels["route"]
        for family in metrics.registry.collect()
        if family.name == "prediris_http_requests"
        for sample in family.samples
    }
    assert not any("nope" in route or "wp-admin" in route for route in routes)


def test_a_wrong_method_matches_no_rule_and_is_counted_as_unmatched_405(client, metrics):
    assert client.get("/predict").status_code == 405
    assert requests(metrics, "GET", "<unmatched>", "405") == 1
    assert requests(metrics, "GET", "/predict", "405") == 0
    assert sample(metrics, "prediris_invalid_requests_total", reason="method-not-allowed") == 1


def test_routes_with_variables_are_labelled_by_their_template(client, metrics):
    assert client.get("/v2/models/iris-knn/ready").status_code == 200
    assert client.get("/v2/models/other/ready").status_code == 404
    routes = {
        (sample.labels["route"], sample.labels["status"])
        for family in metrics.registry.collect()
        if family.name == "prediris_http_requests"
        for sample in family.samples
        if sample.value
    }
    assert {route for route, _ in routes} == {"/v2/models/<name>/ready"}
    assert {status for _, status in routes} == {"200", "404"}


def test_in_flight_counts_the_request_being_served_and_returns_to_zero(app, client, metrics):
    seen = []
    app.add_url_rule(
        "/test-in-flight", "test_in_flight", lambda: (seen.append(sample(metrics, "prediris_http_requests_in_flight")), "ok")[1]
    )
    assert client.get("/test-in-flight").status_code == 200
    assert seen == [1]
    assert sample(metrics, "prediris_http_requests_in_flight") == 0


def test_known_series_exist_before_any_traffic(metrics, app):
    # Born at 0, so rate() sees the first success, refusal, failure or shed request.
    for status in ("200", "400", "500", "503"):
        labels = {"method": "POST", "route": "/predict", "status": status}
        assert metrics.registry.get_sample_value("prediris_http_requests_total", labels) == 0  # None (absent) would fail
    for name in ("setosa", "versicolor", "virginica"):
        assert metrics.registry.get_sample_value("prediris_predictions_total", {"class_name": name}) == 0
    assert metrics.registry.get_sample_value("prediris_invalid_requests_total", {"reason": "invalid-json"}) == 0
    assert metrics.registry.get_sample_value("prediris_shed_requests_total", {"reason": "overloaded"}) == 0


def test_model_info_names_the_served_model(metrics, app, loaded):
    info = [sample for family in metrics.registry.collect() if family.name == "prediris_model_info" for sample in family.samples]
    assert len(info) == 1
    assert info[0].value == 1
    assert info[0].labels["model_name"] == "iris-knn"
    assert info[0].labels["model_version"] == loaded.version


def test_metrics_serves_the_text_format_of_this_apps_registry(client, metrics):
    client.post("/predict", json={"X": VERSICOLOR})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'prediris_predictions_total{class_name="versicolor"} 1.0' in text
    assert "# TYPE prediris_http_request_duration_seconds histogram" in text
