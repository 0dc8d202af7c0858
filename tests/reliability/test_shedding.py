"""Load shedding on the real server: past `max_in_flight`, 503 with Retry-After at once, counted; the
in-flight gauge is the number of requests the replica runs or has waiting, the scrape and the probes excluded."""

import json
import time

import pytest

from tests.support.tools import free_port

pytestmark = pytest.mark.e2e


def test_a_request_beyond_max_in_flight_gets_503_overloaded_at_once_and_the_held_ones_200(serving):
    with serving(max_in_flight=2, threads=8, retry_after_seconds=3) as running:
        held = running.hold(2)
        status, headers, body = running.predict()
        assert (status, headers["retry-after"], headers["content-type"]) == (503, "3", "application/problem+json")
        assert json.loads(body)["type"] == "/problems/overloaded"
        assert running.metric("prediris_http_requests_total", method="POST", route="/predict", status="503") == 1
        assert running.metric("prediris_shed_requests_total", reason="overloaded") == 1
        running.open_gate()
        assert held.answered() == [200, 200]
        assert running.predict()[0] == 200


def test_the_probes_and_the_scrape_are_never_shed(serving):
    with serving(max_in_flight=1, threads=4) as running:
        running.hold(1)
        assert running.get("/health/live")[0] == 200
        assert running.get("/health/ready")[0] == 200
        assert running.get("/metrics")[0] == 200
        assert running.predict()[0] == 503


def test_the_in_flight_gauge_equals_the_requests_the_clients_have_in_flight(serving):
    with serving(threads=16) as running:
        assert running.metric("prediris_http_requests_in_flight") == 0
        running.hold(12)  # fewer than the threads: every one of them runs
        assert running.metric("prediris_http_requests_in_flight") == 12
        running.open_gate()


def test_the_in_flight_gauge_counts_the_requests_waiting_for_a_thread_too(serving):
    # 4 threads: 3 held requests, then 4 more: one takes the last thread, three wait in granian's
    # queue, where the app never sees them. The gauge (read on the metrics port, whose thread is its
    # own) counts all 7: what a balancer sees in flight, and what KEDA must scale on. granian
    # refreshes its count every second, so the gauge is read until it settles.
    metrics_port = free_port()

    def gauge_settles_at(expected: float) -> float:
        deadline, seen = time.monotonic() + 6, None
        while seen != expected and time.monotonic() < deadline:
            time.sleep(0.2)
            seen = running.metric("prediris_http_requests_in_flight", port=metrics_port)
        return seen

    with serving(threads=4, metrics_port=metrics_port) as running:
        until = time.time() + 10
        held = running.hold(3, until=until)
        queued = running.hold(4, until=until, wait=False)
        assert gauge_settles_at(7) == 7
        assert held.answered() + queued.answered() == [200] * 7
        assert gauge_settles_at(0) == 0


def test_a_shed_connection_stays_open_and_serves_its_next_request(serving):
    with serving(max_in_flight=1, threads=4) as running:
        held = running.hold(1)
        connection = running.connect()
        body = b'{"X": [5.1, 3.5, 1.4, 0.2]}'
        connection.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        shed = connection.getresponse()
        assert (shed.status, shed.read() != b"") == (503, True)
        running.open_gate()
        assert held.answered() == [200]
        connection.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        assert connection.getresponse().status == 200
        connection.close()
