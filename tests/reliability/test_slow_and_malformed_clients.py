"""Slow and malformed clients on the real waitress server: they are cut off or refused, others are served.

With a 2 s channel timeout: a client trickling its headers or body never completes its request,
yet never looks idle either (it sends a byte every 0.3 s), so only the per-request deadline
closes it. Sizes over the limits are refused as problem+json before anything large is buffered.
"""

import json
import select
import socket
import time

import pytest

from prediris_ops.core.localapi import local_api
from prediris_ops.core.processes import process_usage

pytestmark = pytest.mark.e2e

TIMEOUT = 2
PREDICT = b'{"X": [5.1, 3.5, 1.4, 0.2]}'


def open_slow(port, first: bytes):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(first)
    return sock


def trickle_until_closed(sockets, drip: bytes, running, limit=30.0):
    """Send `drip` on every socket every 0.3 s until the server closes each; check others are served meanwhile."""
    started = time.monotonic()
    open_ones = set(sockets)
    served_meanwhile = []
    while open_ones and time.monotonic() - started < limit:
        for sock in list(open_ones):
            readable, _, _ = select.select([sock], [], [], 0)
            try:
                if readable and sock.recv(65536) == b"":
                    raise ConnectionResetError
                sock.sendall(drip)
            except (ConnectionResetError, BrokenPipeError):
                open_ones.discard(sock)
                sock.close()
        if len(served_meanwhile) < 3:
            served_meanwhile.append(running.get("/health/live")[0])
        time.sleep(0.3)
    for sock in open_ones:
        sock.close()
    return open_ones, served_meanwhile


def test_clients_sending_headers_slowly_do_not_block_others_and_are_cut_at_the_deadline(serving):
    with serving(channel_timeout_seconds=TIMEOUT) as running:
        slow = [open_slow(running.port, b"POST /predict HTTP/1.1\r\nHost: slow\r\n") for _ in range(20)]
        left, served = trickle_until_closed(slow, b"X-Slow: 1\r\n", running)
        assert served == [200, 200, 200]
        assert not left, f"{len(left)} slow clients were never cut off"


def test_a_client_sending_its_body_slowly_is_cut_at_the_deadline(serving):
    with serving(channel_timeout_seconds=TIMEOUT) as running:
        head = b"POST /predict HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
        left, served = trickle_until_closed([open_slow(running.port, head)], b" ", running)
        assert served == [200, 200, 200]
        assert not left


def reply_of(running, payload):
    head, _, body = running.raw(payload).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return int(lines[0].split(" ")[1]), dict(line.split(": ", 1) for line in lines[1:]), body


@pytest.mark.parametrize(
    ("payload", "status", "problem"),
    [
        (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n",
            413,
            "body-too-large",
        ),
        (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"8000\r\n"
            + b"1" * 0x8000
            + b"\r\n"
            + b"8000\r\n"
            + b"1" * 0x8000
            + b"\r\n"
            + b"10\r\n"
            + b"1" * 16
            + b"\r\n0\r\n\r\n",
            413,
            "body-too-large",
        ),
        (b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431, "headers-too-large"),
        (b"\x00\x01\xffgarbage\r\n\r\n", 400, "bad-request"),
        (b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad-request"),
        (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: twelve\r\n\r\n", 400, "bad-request"),
    ],
    ids=[
        "huge-announced-content-length",
        "chunked-body-over-the-limit",
        "headers-over-the-limit",
        "binary-request-line",
        "unknown-transfer-coding",
        "invalid-content-length",
    ],
)
def test_waitress_refusals_are_problem_json_and_close_the_connection(serving, metrics, payload, status, problem):
    with serving() as running:
        got, headers, body = reply_of(running, payload)
        assert got == status
        assert headers["Content-Type"] == "application/problem+json"
        assert headers["Connection"] == "close"
        assert json.loads(body)["type"] == f"/problems/{problem}"
        assert json.loads(body)["status"] == status
        assert metrics.registry.get_sample_value("prediris_invalid_requests_total", {"reason": problem}) == 1


def test_many_clients_announcing_huge_bodies_cost_the_server_no_memory(model_dir, tmp_path):
    with local_api(model_dir, tmp_path / "server.log") as api:
        port = int(api.base_url.rsplit(":", 1)[1])
        before = process_usage(api.pid).rss_kib
        sockets = []
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n" + b"1" * 4096
            )
            sockets.append(sock)
        statuses = [sock.recv(64).split(b" ")[1] for sock in sockets]
        growth = process_usage(api.pid).rss_kib - before
        for sock in sockets:
            sock.close()
    assert statuses == [b"413"] * 200
    assert growth < 16 * 1024, f"the server's memory grew by {growth} KiB"
