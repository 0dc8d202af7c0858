"""Overload: 500 busy keep-alive clients (5x the design load) against one real server process.

The server must stay up, answer every request with 200 or 503 (never a timeout or a reset), keep
the admitted requests' latency bounded, count in /metrics exactly what the clients saw, and serve
a normal request normally right after. The figures are printed (pytest -s) for the README.
"""

import json
import re
import time
import urllib.request

import pytest

from prediris_ops.core.localapi import local_api
from prediris_ops.load.loadgen import PREDICT_BODY, generate_load

pytestmark = pytest.mark.e2e

CLIENTS = 500
SECONDS = 20
CLIENT_TIMEOUT = 5.0


def predict_once(base_url):
    """Return (status, prediction, seconds) of one ordinary request on a new connection."""
    request = urllib.request.Request(base_url + "/predict", data=PREDICT_BODY, headers={"Content-Type": "application/json"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
        return response.status, json.loads(response.read())["prediction"], time.monotonic() - started


def sample(exposition, name, **labels):
    """Return the value of one series in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{name}{{{wanted}}} (\S+)$" if labels else rf"^{name} (\S+)$", exposition, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def scrape(base_url):
    with urllib.request.urlopen(base_url + "/metrics", timeout=CLIENT_TIMEOUT) as response:
        return response.read().decode()


def test_five_times_the_design_load_gets_200_or_503_at_once_and_never_a_timeout(model_dir, tmp_path):
    with local_api(model_dir, tmp_path / "server.log") as api:
        before = predict_once(api.base_url)
        result = generate_load(api.base_url, connections=CLIENTS, duration=SECONDS, timeout=CLIENT_TIMEOUT)
        assert api.process.poll() is None, f"the server died under load: {api.log_tail()}"
        after = predict_once(api.base_url)
        exposition = scrape(api.base_url)
    print(f"\noverload, {CLIENTS} keep-alive clients for {SECONDS} s: {result.summary()}")
    print(
        f"503 p99 {result.percentile(503, 0.99) * 1000:.1f} ms; one request before {before[2] * 1000:.1f} ms, after {after[2] * 1000:.1f} ms"
    )

    assert dict(result.failures) == {}, "timeouts, resets or refused connections"
    assert set(result.statuses) == {200, 503}, "only 200 and 503, and the load was high enough to shed"
    assert result.percentile(200, 0.99) < CLIENT_TIMEOUT
    assert set(result.retry_after) == {"1"} and sum(result.retry_after.values()) == result.statuses[503]
    assert after[:2] == (200, "setosa")
    assert sample(exposition, "prediris_shed_requests_total", reason="overloaded") == result.statuses[503]
    served = sample(exposition, "prediris_http_requests_total", method="POST", route="/predict", status="200")
    assert served == result.statuses[200] + 2  # the load, and the request before and after it
    assert sample(exposition, "prediris_http_requests_total", method="POST", route="/predict", status="503") == result.statuses[503]
    assert sample(exposition, "prediris_http_requests_in_flight") == 1  # only the scrape itself: nothing left behind
    assert api.process.returncode == 0
