"""Fixtures for reliability tests: the real server (`prediris-serve`, granian) in its own processes.

`serving(...)` starts it with any settings, plus `/test/gate` (tests/reliability/gated.py): a route
that holds its request until the test opens the gate, so "a request in flight" is an exact state.
"""

import contextlib
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil
import pytest

from prediris_ops.core.localapi import LocalAPI, local_api
from prediris_ops.core.paths import ROOT

GATE_PATH = "/test/gate"


@dataclass
class Held:
    """Requests held at the gate: their threads, and the statuses they got once answered."""

    threads: list[threading.Thread]
    statuses: list = field(default_factory=list)

    def answered(self, timeout: float = 30) -> list:
        for thread in self.threads:
            thread.join(timeout)
        return sorted(self.statuses, key=str)


@dataclass
class Running:
    api: LocalAPI

    @property
    def port(self) -> int:
        return int(self.api.base_url.rsplit(":", 1)[1])

    @property
    def process(self):
        return self.api.process

    def connect(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers=None, timeout: float = 10):
        """Return (status, headers, body) of one request on a new connection."""
        connection = self.connect(timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def get(self, path: str, timeout: float = 10):
        return self.request("GET", path, timeout=timeout)

    def predict(self, timeout: float = 10):
        return self.request("POST", "/predict", b'{"X": [5.1, 3.5, 1.4, 0.2]}', {"Content-Type": "application/json"}, timeout)

    def metric(self, name: str, port: int | None = None, **labels) -> float:
        """Return one sample of /metrics on the API port, or on `port` (the metrics port, served by its
        own thread even when every request thread is busy); 0 when absent."""
        if port is None:
            text = self.get("/metrics")[2].decode()
        else:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
                text = reply.read().decode()
        wanted = "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}" if labels else ""
        for line in text.splitlines():
            if line.startswith(f"{name}{wanted} "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def hold(self, count: int, seconds: float = 30, until: float | None = None, wait: bool = True) -> "Held":
        """Start `count` requests to the gate (held until opened, `seconds`, or the Unix time `until`)
        and, with `wait`, wait until the server holds them all (the wait needs a free thread)."""
        held = Held([])
        path = f"{GATE_PATH}?until={until!r}" if until is not None else f"{GATE_PATH}?seconds={seconds:g}"

        def one() -> None:
            try:
                held.statuses.append(self.get(path, timeout=40)[0])
            except (OSError, http.client.HTTPException):
                held.statuses.append("cut")

        for _ in range(count):
            thread = threading.Thread(target=one, daemon=True)
            thread.start()
            held.threads.append(thread)
        if not wait:
            return held
        deadline = time.monotonic() + 20
        while json.loads(self.get(GATE_PATH + "/entered")[2])["entered"] < count:
            assert time.monotonic() < deadline, "the gated requests never reached the app"
            time.sleep(0.05)
        return held

    def open_gate(self) -> None:
        assert self.get(GATE_PATH + "/open")[0] == 200

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
            except ConnectionResetError:
                return b"".join(chunks), True
            return b"".join(chunks), True

    def processes(self) -> list[psutil.Process]:
        """The supervisor and its worker(s)."""
        main = psutil.Process(self.process.pid)
        return [main, *main.children()]

    def signal_all(self, signum: int) -> None:
        """Signal every process of the server at once, as Azure Container Apps does."""
        for process in self.processes():
            os.kill(process.pid, signum)


@pytest.fixture
def serving(model_dir, tmp_path):
    """Return a context manager: `with serving(max_in_flight=2) as running: ...` (settings as PREDIRIS_*)."""

    @contextmanager
    def start(**settings):
        argv = [sys.executable, "-m", "tests.reliability.gated"]
        env = {"PYTHONPATH": os.pathsep.join([str(ROOT / "packages"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
        with local_api(model_dir, tmp_path / "server.log", settings=settings, argv=argv, extra_env=env, stop_timeout=20) as api:
            running = Running(api)
            try:
                yield running
            finally:
                if api.process.poll() is None:
                    with contextlib.suppress(OSError):
                        running.open_gate()

    return start
