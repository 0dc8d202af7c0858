"""Overload: 500 and 2,000 busy keep-alive clients (5x and 20x the design load) against one replica.

The server must stay up, answer every request with 200 or 503 (never a timeout, a reset or a refused
connection), count in /metrics exactly what the clients saw, and serve a normal request normally
right after. The figures are printed (pytest -s).
"""

import json
import re
import time
import urllib.request

import pytest

from prediris_ops.core.localapi import local_api
from prediris_ops.load.loadgen import PREDICT_BODY, generate_load

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

CLIENT_TIMEOUT = 5.0
SECONDS = 15  # issue 17's figure; longer than the client timeout: a request left waiting is counted as a timeout


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


@pytest.mark.parametrize("clients", [500, 2000])
def test_many_times_the_design_load_gets_200_or_503_and_never_a_timeout_or_a_connection_error(model_dir, tmp_path, clients):
    with local_api(model_dir, tmp_path / "server.log") as api:
        before = predict_once(api.base_url)
        result = generate_load(api.base_url, connections=clients, duration=SECONDS, timeout=CLIENT_TIMEOUT)
        assert api.process.poll() is None, f"the server died under load: {api.log_tail()}"
        after = predict_once(api.base_url)
        exposition = scrape(api.base_url)
        # Nothing left behind. The gauge's waiting part is granian's count, refreshed every second:
        # read it until the count taken after the load comes in.
        deadline, in_flight = time.monotonic() + 5, sample(exposition, "prediris_http_requests_in_flight")
        while in_flight != 0 and time.monotonic() < deadline:
            time.sleep(0.25)
            in_flight = sample(scrape(api.base_url), "prediris_http_requests_in_flight")
    print(f"\noverload, {clients} keep-alive clients for {SECONDS} s: {result.summary()}")
    print(f"one request before {before[2] * 1000:.1f} ms, after {after[2] * 1000:.1f} ms")

    assert dict(result.failures) == {}, "timeouts, resets or refused connections"
    assert set(result.statuses) <= {200, 503} and result.statuses[200] > 0
    assert sum(result.retry_after.values()) == result.statuses[503]
    assert after[:2] == (200, "setosa")
    assert sample(exposition, "prediris_shed_requests_total", reason="overloaded") == result.statuses[503]
    served = sample(exposition, "prediris_http_requests_total", method="POST", route="/predict", status="200")
    assert served == result.statuses[200] + 2  # the load, and the request before and after it
    assert sample(exposition, "prediris_http_requests_total", method="POST", route="/predict", status="503") == result.statuses[503]
    assert in_flight == 0  # the scrape itself is not counted
    assert api.process.returncode == 0
