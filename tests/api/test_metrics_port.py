"""PREDIRIS_METRICS_PORT: /metrics on that port only, 404 problem+json on the API port."""

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from prediris_api import create_app
from prediris_api.settings import Settings, SettingsError
from tests.support.servers import running_api
from tests.support.tools import free_port


def test_by_default_metrics_are_served_on_the_api_port(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"prediris_http_requests_total" in response.data


def test_with_a_metrics_port_the_api_port_answers_404_problem_json(model_dir, metrics):
    client = create_app({"model_dir": str(model_dir), "metrics": metrics, "metrics_port": 9109, "TESTING": True}).test_client()
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    spec = client.get("/openapi.json").get_json()
    assert "/metrics" not in spec["paths"]
    assert "/metrics" not in client.get("/").get_json()["routes"]


def test_the_metrics_port_cannot_be_the_api_port():
    with pytest.raises(SettingsError, match="PREDIRIS_METRICS_PORT=8000 is the API port"):
        Settings.from_env({"PREDIRIS_PORT": "8000", "PREDIRIS_METRICS_PORT": "8000"})


def test_the_real_server_serves_metrics_on_their_port_only(model_dir, tmp_path):
    metrics_port = free_port()
    with running_api(model_dir, tmp_path / "server.log", metrics_port=metrics_port) as (base, _):
        with urllib.request.urlopen(base + "/health/live", timeout=10):
            pass
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/metrics", timeout=10)
        with refused.value as error:
            assert error.code == 404
            assert error.headers["Content-Type"] == "application/problem+json"
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            exposition = response.read().decode()
        assert 'prediris_http_requests_total{method="GET",route="/health/live",status="200"} 1.0' in exposition


def test_a_busy_metrics_port_ends_the_server_with_one_line_naming_the_variable(model_dir, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PREDIRIS_MODEL_DIR": str(model_dir), "PREDIRIS_PORT": str(free_port()), "PREDIRIS_METRICS_PORT": str(port)}
        result = subprocess.run(
            [sys.executable, "-m", "prediris_api"], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert "set PREDIRIS_METRICS_PORT to a free port" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_metrics_port_closes_a_half_sent_request_answers_404_elsewhere_and_names_no_python(model_dir, tmp_path):
    metrics_port = free_port()
    with running_api(model_dir, tmp_path / "server.log", metrics_port=metrics_port, header_timeout_seconds=2) as _:
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=10) as half:
            half.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            assert half.recv(65536) == b"", "the half-sent request was answered instead of closed"
        with pytest.raises(urllib.error.HTTPError) as other:
            urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/anything", timeout=10)
        with other.value as refused:
            assert refused.code == 404
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            assert "python" not in response.headers.get("Server", "").lower()
            assert "Python" not in str(response.headers)
