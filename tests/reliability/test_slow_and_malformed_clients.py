"""Slow, idle and malformed clients on the real server: they are cut off or refused, others are served.

With a 2 s header timeout (PREDIRIS_HEADER_TIMEOUT_SECONDS): a client trickling its headers is cut
at the deadline, and so is a keep-alive connection that sends nothing more. granian has no body-read
timeout: a client trickling its body holds only its own request (the ingress bounds it). Requests the
server refuses before the app sees them (malformed request line, headers too large) get granian's own
short reply and a closed connection; everything the app answers is problem+json.
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


def trickle_until_closed(sockets, drip: bytes, running, limit=15.0):
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
            served_meanwhile.append(running.predict()[0])
        time.sleep(0.3)
    for sock in open_ones:
        sock.close()
    return open_ones, served_meanwhile


def test_clients_sending_headers_slowly_do_not_block_others_and_are_cut_at_the_deadline(serving):
    with serving(header_timeout_seconds=TIMEOUT) as running:
        slow = [open_slow(running.port, b"POST /predict HTTP/1.1\r\nHost: slow\r\n") for _ in range(20)]
        left, served = trickle_until_closed(slow, b"X-Slow: 1\r\n", running)
        assert served == [200, 200, 200]
        assert not left, f"{len(left)} slow clients were never cut off"


def test_a_client_sending_its_body_slowly_holds_only_its_own_request(serving):
    with serving(header_timeout_seconds=TIMEOUT) as running:
        head = f"POST /predict HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\nContent-Length: {len(PREDICT)}\r\n\r\n"
        slow = open_slow(running.port, head.encode() + PREDICT[:5])
        for byte in PREDICT[5:15]:
            assert running.predict()[0] == 200
            slow.sendall(bytes([byte]))
            time.sleep(0.3)
        slow.sendall(PREDICT[15:])
        assert slow.recv(65536).startswith(b"HTTP/1.1 200")
        slow.close()


def test_an_idle_keep_alive_connection_is_closed_after_the_header_timeout(serving):
    with serving(header_timeout_seconds=TIMEOUT, shutdown_grace_seconds=1) as running:
        reply, closed = running.exchange(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n", timeout=TIMEOUT * 4)
        assert reply.startswith(b"HTTP/1.1 200") and closed, "the idle connection was still open after 4x the timeout"


def test_idle_connections_up_to_the_connection_limit_do_not_lock_out_a_new_client(serving):
    with serving(header_timeout_seconds=TIMEOUT, connection_limit=50) as running:
        idle = [socket.create_connection(("127.0.0.1", running.port), timeout=5) for _ in range(50)]
        try:
            assert running.predict(timeout=TIMEOUT * 5)[0] == 200
        finally:
            for sock in idle:
                sock.close()


def reply_of(running, payload: bytes):
    """Return (status, headers, body) of the server's reply to raw bytes."""
    data, _ = running.exchange(payload, timeout=5)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


@pytest.mark.parametrize(
    ("payload", "status", "problem"),
    [
        (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n",
            413,
            "body-too-large",
        ),
        (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n" + b" " * 70000,
            413,
            "body-too-large",
        ),
        (b"\x00\x01\x02 / HTTP/1.1\r\n\r\n", 400, None),
        (b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, None),
        (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: twelve\r\n\r\n", 400, None),
    ],
    ids=[
        "huge-announced-content-length",
        "body-over-the-limit-sent-whole",
        "binary-request-line",
        "unknown-transfer-coding",
        "invalid-content-length",
    ],
)
def test_refusals_reach_the_client_as_problem_json_or_the_servers_own_short_reply(serving, payload, status, problem):
    with serving() as running:
        got, headers, body = reply_of(running, payload)
        assert got == status
        if problem is None:  # refused by granian before the app: its own empty reply, connection closed
            assert (headers.get("connection"), body) == ("close", b"")
        else:
            assert headers["content-type"] == "application/problem+json"
            assert json.loads(body)["type"] == f"/problems/{problem}"
            assert running.metric("prediris_invalid_requests_total", reason=problem) == 1
        assert running.get("/health/live")[0] == 200


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
