"""A stand-in for a compose Prometheus's readiness and targets."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.tools import free_port


class _PrometheusStandIn(BaseHTTPRequestHandler):
    """Answers what `invoke observe` asks a Prometheus it did not start itself: ready, and its targets."""

    def do_GET(self):
        if self.path == "/-/ready":
            body = b"Prometheus Server is Ready.\n"
        elif self.path.startswith("/api/v1/targets"):
            targets = [
                {"labels": {"job": job}, "scrapeUrl": url, "health": "up", "lastError": ""}
                for job, url in (("prediris", "http://host.docker.internal:5000/metrics"), ("node", "http://node-exporter:9100/metrics"))
            ]
            targets.append({"labels": {"job": "prometheus"}, "scrapeUrl": "http://localhost:9090/metrics", "health": "up", "lastError": ""})
            body = json.dumps({"status": "success", "data": {"activeTargets": targets}}).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def compose_prometheus():
    """The port of an HTTP server that answers like the compose stack's Prometheus."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _PrometheusStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
