"""Fixtures for reliability tests: the real waitress server in this process, with a gate route.

`serving(...)` runs prediris's `Server` (admission control, drain) on a thread with any settings.
The app is the real one plus `/test/gate`, a route that holds its request until the test opens
the gate: it makes "a request in flight" or "a full queue" an exact state instead of a race.
"""

import http.client
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import jsonify

from prediris_api import create_app
from prediris_api.serving.server import Server
from prediris_api.settings import Settings

GATE_PATH = "/test/gate"


class Gate:
    """Requests to GATE_PATH wait here until `open()`; `wait_entered(n)` waits until n of them arrived."""

    def __init__(self):
        self._opened = threading.Event()
        self._entered = threading.Semaphore(0)

    def view(self):
        self._entered.release()
        self._opened.wait(30)
        return jsonify(gate="passed")

    def wait_entered(self, count: int = 1) -> None:
        for _ in range(count):
            assert self._entered.acquire(timeout=10), "a gated request never reached the app"

    def open(self) -> None:
        self._opened.set()


@dataclass
class Running:
    server: Server
    app: object
    gate: Gate
    port: int
    thread: threading.Thread

    def connect(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path: str, timeout: float = 10):
        connection = self.connect(timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def raw(self, payload: bytes, timeout: float = 10) -> bytes:
        """Send raw bytes on a new connection; return everything read until the server closes or goes quiet."""
        return self.exchange(payload, timeout)[0]

    def exchange(self, payload: bytes, timeout: float = 10) -> tuple[bytes, bool]:
        """Send raw bytes on a new connection; return what was read and whether the server closed it
        (False: it went quiet for `timeout` seconds with the connection still open)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(payload)
            chunks = []
            try:
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
            except TimeoutError:
                return b"".join(chunks), False
            return b"".join(chunks), True


@pytest.fixture
def serving(model_dir, metrics):
    """Return a context manager: `with serving(threads=1, max_in_flight=2) as running: ...`."""

    @contextmanager
    def start(**overrides):
        # The public predict API: the direct kernel's start-up verification is not what these tests are about.
        settings = Settings(model_dir=str(model_dir), port=0, **{"model_kernel": "public", **overrides})
        app = create_app({"settings": settings, "metrics": metrics})
        gate = Gate()
        app.add_url_rule(GATE_PATH, "gate", gate.view)
        server = Server(app, settings)
        thread = threading.Thread(target=server.run, name="prediris-test-server", daemon=True)
        thread.start()
        try:
            yield Running(server, app, gate, int(server.effective_port), thread)
        finally:
            gate.open()
            server.stop()
            server.stop()  # a second stop: do not wait for the grace period
            thread.join(10)
            assert not thread.is_alive(), "the server did not stop"

    return start
