"""Graceful stop on the real server: readiness 503 at once, listener closed, in-flight requests finish."""

import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.conftest import GATE_PATH
from tests.support.polling import wait_for

pytestmark = pytest.mark.e2e


def wait_until(condition, what):
    wait_for(condition, 10, what, interval=0.01)


def refuses_connections(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_stop_closes_the_listener_but_lets_the_request_in_flight_finish_with_connection_close(serving):
    with serving(threads=2, shutdown_grace_seconds=30) as running, ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(running.get, GATE_PATH)
        running.gate.wait_entered(1)

        running.server.stop()

        assert running.app.test_client().get("/health/ready").status_code == 503
        wait_until(lambda: refuses_connections(running.port), "the listener closed")
        assert running.thread.is_alive(), "the server returned with a request still in flight"
        running.gate.open()
        status, headers, body = in_flight.result()
        assert status == 200
        assert json.loads(body) == {"gate": "passed"}
        assert headers["Connection"] == "close"
        running.thread.join(10)
        assert not running.thread.is_alive(), "the server did not return once its last request was answered"


def test_a_request_whose_headers_were_arriving_at_stop_is_served_and_sees_readiness_503(serving):
    with serving(threads=2) as running, socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(b"GET /health/ready HTTP/1.1\r\nHost: test\r\n")
        wait_until(lambda: any(channel.request is not None for channel in running.server.connections()), "the partial request was read")

        running.server.stop()
        wait_until(lambda: refuses_connections(running.port), "the listener closed")
        sock.sendall(b"\r\n")
        reply = read_until_closed(sock)

        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503")
        assert b"Connection: close" in head
        assert json.loads(body)["type"] == "/problems/shutting-down"


def read_until_closed(sock):
    """Read until the server closes the connection (the test fails on the socket timeout otherwise)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_idle_keep_alive_connections_are_closed_on_stop(serving):
    with serving(threads=2) as running:
        connection = running.connect()
        connection.request("GET", "/health/live")
        assert json.loads(connection.getresponse().read()) == {"status": "live"}

        running.server.stop()

        connection.sock.settimeout(10)
        assert connection.sock.recv(1) == b""
        connection.close()
        wait_until(lambda: not running.thread.is_alive(), "the server returned")


def test_the_grace_period_bounds_the_drain(serving, caplog):
    with serving(threads=2, shutdown_grace_seconds=0.5) as running, ThreadPoolExecutor(1) as pool:
        stuck = pool.submit(running.get, GATE_PATH)
        running.gate.wait_entered(1)

        running.server.stop()

        wait_until(lambda: not running.thread.is_alive(), "the server returned after its grace period")
        assert "grace period over" in caplog.text
        running.gate.open()
        stuck.exception()
