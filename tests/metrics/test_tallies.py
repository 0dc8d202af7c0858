"""The tallied traffic series: the exposition prometheus_client's own metrics would give, from any number of threads."""

import threading

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from prediris_metrics.tallies import Family, RequestTallies

BOUNDS = (0.001, 0.01, 0.1, 1.0)
ROW_BOUNDS = (1, 2, 4)
# Values below, on and above the bounds: a value equal to a bound counts in that bound's bucket.
SECONDS = (0.0, 0.0005, 0.001, 0.002, 0.01, 0.5, 1.0, 7.0)


def tallies():
    return RequestTallies(
        requests=Family("demo_requests_total", "Requests."),
        duration=Family("demo_duration_seconds", "Durations.", BOUNDS),
        predictions=Family("demo_predictions_total", "Predictions."),
        rows=Family("demo_rows", "Rows.", ROW_BOUNDS),
    )


def exposition(collector):
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def samples(collector):
    """The exposition's sample lines."""
    return {line for line in exposition(collector).splitlines() if not line.startswith("#")}


def test_the_exposition_is_the_clients_own_for_the_same_traffic():
    registry = CollectorRegistry()
    requests = Counter("demo_requests_total", "Requests.", ["method", "route", "status"], registry=registry)
    durations = Histogram("demo_duration_seconds", "Durations.", ["method", "route"], buckets=BOUNDS, registry=registry)
    predictions = Counter("demo_predictions_total", "Predictions.", ["class_name"], registry=registry)
    rows = Histogram("demo_rows", "Rows.", buckets=ROW_BOUNDS, registry=registry)
    tallied = tallies()
    for index, seconds in enumerate(SECONDS):
        route, status = ("/a", "200") if index % 3 else ("/b", "404")
        requests.labels("POST", route, status).inc()
        durations.labels("POST", route).observe(seconds)
        tallied.record_request("POST", route, status, seconds)
        counts = {"setosa": index, "virginica": 1}
        for name, count in counts.items():
            predictions.labels(name).inc(count)
        rows.observe(index + 1)
        tallied.record_predictions(counts.items(), index + 1)
    assert exposition(tallied) == generate_latest(registry).decode()


def test_one_route_answering_several_statuses_is_one_duration_series():
    tallied = tallies()
    tallied.record_request("GET", "/a", "200", 0.005)
    tallied.record_request("GET", "/a", "503", 0.5)
    assert {
        'demo_requests_total{method="GET",route="/a",status="200"} 1.0',
        'demo_requests_total{method="GET",route="/a",status="503"} 1.0',
        'demo_duration_seconds_bucket{le="0.01",method="GET",route="/a"} 1.0',
        'demo_duration_seconds_count{method="GET",route="/a"} 2.0',
    } <= samples(tallied)


def test_counts_from_many_threads_at_once_are_all_kept():
    tallied = tallies()
    start = threading.Barrier(8)

    def count():
        start.wait()
        for _ in range(5000):
            tallied.record_request("POST", "/a", "200", 0.25)  # exact in binary: the sum is exact
            tallied.record_predictions((("setosa", 1),), 1)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The threads have ended: their counts stay.
    assert {
        'demo_requests_total{method="POST",route="/a",status="200"} 40000.0',
        'demo_duration_seconds_bucket{le="0.1",method="POST",route="/a"} 0.0',
        'demo_duration_seconds_bucket{le="1.0",method="POST",route="/a"} 40000.0',
        'demo_duration_seconds_sum{method="POST",route="/a"} 10000.0',
        'demo_predictions_total{class_name="setosa"} 40000.0',
        "demo_rows_count 40000.0",
    } <= samples(tallied)


def test_prepared_series_are_exposed_at_zero_before_their_first_count():
    tallied = tallies()
    tallied.prepare([("GET", "/a", "503")], ["setosa"])
    assert {
        'demo_requests_total{method="GET",route="/a",status="503"} 0.0',
        'demo_duration_seconds_count{method="GET",route="/a"} 0.0',
        'demo_predictions_total{class_name="setosa"} 0.0',
        "demo_rows_count 0.0",
    } <= samples(tallied)
