"""The real server: `python -m prediris_api` (granian), and `invoke up`, spoken to over a real socket."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from prediris_ops.checks.smoke import run_checks
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import wait_http
from tests.support.servers import running_api
from tests.support.tools import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    with running_api(model_dir, tmp_path_factory.mktemp("logs") / "server.log") as (base, _process):
        yield base


def request(base, method, path, body=None, headers=None):
    url = urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def test_the_seed_curl_line_returns_a_prediction(server):
    status, headers, body = request(server, "POST", "/predict", b'{"X": [5.1,3.5,1.4,0.2]}', {"Content-Type": "application/json"})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["prediction"] == "setosa"


def test_every_smoke_check_passes(server):
    failed = [check for check in run_checks(server) if not check.ok]
    assert failed == []


def test_a_body_over_the_limit_is_refused_as_problem_json_by_the_real_server(server):
    body = b'{"X": [' + b"1.0," * 40000 + b"1.0]}"
    status, headers, _ = request(server, "POST", "/predict", body, {"Content-Type": "application/json"})
    assert status == 413
    assert headers["Content-Type"] == "application/problem+json"


def test_metrics_count_the_requests_served(server):
    request(server, "POST", "/predict", b'{"X": [5.1,3.5,1.4,0.2]}', {"Content-Type": "application/json"})
    status, headers, raw = request(server, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert 'prediris_http_requests_total{method="POST",route="/predict",status="200"}' in raw.decode()


def run_server_expecting_failure(env_overrides, model_dir):
    env = {**os.environ, "PREDIRIS_MODEL_DIR": str(model_dir), "PREDIRIS_PORT": "0", **env_overrides}
    return subprocess.run([sys.executable, "-m", "prediris_api"], env=env, capture_output=True, text=True, timeout=60)


def test_a_bad_setting_stops_the_server_with_one_line_and_no_traceback(model_dir):
    result = run_server_expecting_failure({"PREDIRIS_THREADS": "lots"}, model_dir)
    assert result.returncode == 2
    assert result.stderr.strip() == "prediris: PREDIRIS_THREADS='lots' is not an integer"


def test_a_tampered_model_fails_closed_at_start(model_dir, tmp_path):
    shutil.copytree(model_dir, tmp_path / "models")
    with open(tmp_path / "models" / "iris-knn.joblib", "ab") as handle:
        handle.write(b"\0")
    result = run_server_expecting_failure({}, tmp_path / "models")
    assert result.returncode == 1
    assert "does not match its card" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_port_stops_the_server_with_one_line_naming_the_variable(model_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_server_expecting_failure({"PREDIRIS_PORT": str(taken.getsockname()[1])}, model_dir)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("(in use); set PREDIRIS_PORT to a free port")
    assert len(result.stderr.strip().splitlines()) == 1


def invoke_up(model_dir, port, **popen):
    env = {**os.environ, "PREDIRIS_DRAIN_DELAY_SECONDS": "0", "PYTHONPATH": os.pathsep.join([str(ROOT / "packages"), str(ROOT)])}
    argv = [sys.executable, "-m", "invoke", "up", "--port", str(port), "--model-dir", str(model_dir)]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def serve_then_sigterm(model_dir, port: int) -> str:
    """Run `invoke up` until it answers ready, send it SIGTERM, check it exits 0; return what it printed."""
    with invoke_up(model_dir, port) as up:
        try:
            wait_http(f"http://127.0.0.1:{port}/health/ready", 120, process=up)
            up.send_signal(signal.SIGTERM)
            assert up.wait(30) == 0
        finally:
            if up.poll() is None:
                up.kill()
        return up.stdout.read()


def test_invoke_up_trains_when_no_model_exists_then_serves(tmp_path):
    output = serve_then_sigterm(tmp_path / "models", free_port())
    assert "training" in output and "serving iris-knn on" in output
    assert "invoke train" not in output, "no advice to run what the task is already doing"
    assert sorted(path.name for path in (tmp_path / "models").iterdir()) == ["iris-knn.joblib", "iris-knn.json"]


def test_sigterm_to_invoke_up_stops_the_server_and_leaves_no_orphan(model_dir):
    port = free_port()
    output = serve_then_sigterm(model_dir, port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert "serving iris-knn on" in output and "draining" in output
    assert "training" not in output, "a verified model is reused"


def test_invoke_up_on_a_busy_port_says_so_in_one_line_naming_the_option(model_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with invoke_up(model_dir, taken.getsockname()[1]) as up:
            output, _ = up.communicate(timeout=60)
    assert up.returncode == 1
    assert output.strip().splitlines() == [output.strip()] and "set --port to a free port" in output
