"""Admission control on the real server: past the bounds, a 503 problem+json at once, counted, connection kept."""

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.conftest import GATE_PATH

pytestmark = pytest.mark.e2e
PREDICT = b'{"X": [5.1, 3.5, 1.4, 0.2]}'


def wait_for_in_flight(server, expected):
    """Wait (bounded) until the server holds `expected` = (in flight, waiting) requests."""
    deadline = time.monotonic() + 10
    while server.dispatcher.in_flight() != expected:
        assert time.monotonic() < deadline, f"in flight stayed {server.dispatcher.in_flight()}, expected {expected}"
        time.sleep(0.01)


def post_predict(connection, close=False):
    connection.request("POST", "/predict", body=PREDICT, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    reply = response.status, dict(response.getheaders()), response.read()
    if close:
        connection.close()
    return reply


def test_a_request_beyond_max_in_flight_is_answered_503_with_retry_after_while_the_others_wait(serving, metrics):
    with serving(threads=1, max_in_flight=2, max_queue=10, retry_after_seconds=3) as running, ThreadPoolExecutor(2) as pool:
        executing = pool.submit(running.get, GATE_PATH)
        running.gate.wait_entered(1)
        waiting = pool.submit(running.get, "/health/live")
        wait_for_in_flight(running.server, (2, 1))

        status, headers, body = post_predict(running.connect(), close=True)

        # Answered while the only worker thread is still held: it never went through the queue.
        assert not executing.done()
        assert status == 503
        assert headers["Content-Type"] == "application/problem+json"
        assert headers["Retry-After"] == "3"
        problem = json.loads(body)
        assert problem["type"] == "/problems/overloaded"
        assert problem["status"] == 503
        assert problem["instance"] == "/predict"
        assert "retry after 3 s" in problem["detail"]
        assert metrics.registry.get_sample_value("prediris_shed_requests_total", {"reason": "overloaded"}) == 1
        # An answered request like any other: the 5xx ratio sees the overload.
        answered = {"method": "POST", "route": "/predict", "status": "503"}
        assert metrics.registry.get_sample_value("prediris_http_requests_total", answered) == 1

        running.gate.open()
        assert executing.result()[0] == 200
        assert waiting.result()[0] == 200


def test_the_queue_bound_sheds_even_below_the_in_flight_bound(serving, metrics):
    with serving(threads=1, max_in_flight=50, max_queue=1) as running, ThreadPoolExecutor(2) as pool:
        executing = pool.submit(running.get, GATE_PATH)
        running.gate.wait_entered(1)
        waiting = pool.submit(running.get, "/health/live")
        wait_for_in_flight(running.server, (2, 1))

        assert running.get("/health/live")[0] == 503

        running.gate.open()
        assert executing.result()[0] == 200
        assert waiting.result()[0] == 200


def test_without_a_queue_a_request_is_served_when_a_thread_is_free_and_shed_otherwise(serving, metrics):
    with serving(threads=1, max_queue=0) as running, ThreadPoolExecutor(1) as pool:
        assert running.get("/health/live")[0] == 200
        executing = pool.submit(running.get, GATE_PATH)
        running.gate.wait_entered(1)

        assert running.get("/health/live")[0] == 503

        running.gate.open()
        assert executing.result()[0] == 200
        assert metrics.registry.get_sample_value("prediris_shed_requests_total", {"reason": "overloaded"}) == 1


def test_shed_requests_are_counted_under_their_route_template_or_as_unmatched(serving, metrics):
    with serving(threads=1, max_queue=0) as running, ThreadPoolExecutor(1) as pool:
        executing = pool.submit(running.get, GATE_PATH)
        running.gate.wait_entered(1)

        assert running.get("/health/live")[0] == 503
        assert running.get("/no/such/route")[0] == 503

        running.gate.open()
        assert executing.result()[0] == 200
        count = metrics.registry.get_sample_value
        assert count("prediris_http_requests_total", {"method": "GET", "route": "/health/live", "status": "503"}) == 1
        assert count("prediris_http_requests_total", {"method": "GET", "route": "<unmatched>", "status": "503"}) == 1
        assert count("prediris_shed_requests_total", {"reason": "overloaded"}) == 2


def test_a_shed_connection_stays_open_and_serves_its_next_request_once_there_is_room(serving, metrics):
    with serving(threads=1, max_in_flight=1) as running, ThreadPoolExecutor(1) as pool:
        executing = pool.submit(running.get, GATE_PATH)
        running.gate.wait_entered(1)
        connection = running.connect()

        first, headers, _ = post_predict(connection)
        assert first == 503
        assert headers.get("Connection") != "close"

        running.gate.open()
        assert executing.result()[0] == 200
        wait_for_in_flight(running.server, (0, 0))
        second, _, body = post_predict(connection)
        assert second == 200
        assert json.loads(body)["prediction"] == "setosa"
        connection.close()


def test_requests_within_the_bounds_are_never_shed(serving, metrics):
    with serving(threads=2, max_in_flight=4, max_queue=2) as running, ThreadPoolExecutor(4) as pool:
        gated = [pool.submit(running.get, GATE_PATH) for _ in range(2)]
        running.gate.wait_entered(2)
        queued = [pool.submit(running.get, "/health/live") for _ in range(2)]
        wait_for_in_flight(running.server, (4, 2))
        running.gate.open()
        assert [future.result()[0] for future in gated + queued] == [200, 200, 200, 200]
        assert metrics.registry.get_sample_value("prediris_shed_requests_total", {"reason": "overloaded"}) == 0


def test_a_shed_head_request_gets_no_body_so_the_connection_stays_in_step(serving):
    with serving(threads=1, max_in_flight=1) as running, ThreadPoolExecutor(1) as pool:
        executing = pool.submit(running.get, GATE_PATH)
        running.gate.wait_entered(1)
        sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
        sock.sendall(b"HEAD /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
        stream = sock.makefile("rb")
        head = b"".join(iter(stream.readline, b"\r\n"))
        assert head.startswith(b"HTTP/1.1 503")
        assert b"Content-Length: 0" not in head

        running.gate.open()
        assert executing.result()[0] == 200
        wait_for_in_flight(running.server, (0, 0))
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
        # Had the HEAD reply carried a body, the stream would continue with it, not with this status line.
        assert stream.readline() == b"HTTP/1.1 200 OK\r\n"
        stream.close()
        sock.close()
