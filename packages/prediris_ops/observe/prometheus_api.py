"""Ask a running Prometheus over its HTTP API: instant PromQL queries and the state of its targets."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request

from prediris_ops.core.errors import OpsError


def query(prometheus_url: str, expr: str, timeout: float = 10.0) -> list[dict]:
    """Evaluate an instant PromQL query; stop with Prometheus's own error message when it fails."""
    url = f"{prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        answer = json.load(error)
    if answer.get("status") != "success":
        raise OpsError(f"Prometheus refused {expr!r}: {answer.get('errorType')}: {answer.get('error')}", code=1)
    return answer["data"]["result"]


def active_targets(prometheus_url: str, timeout: float = 5.0) -> list[dict]:
    """Return Prometheus's active scrape targets (job, instance, health, last error)."""
    with urllib.request.urlopen(f"{prometheus_url}/api/v1/targets?state=active", timeout=timeout) as response:
        return json.load(response)["data"]["activeTargets"]


def scraped_targets(prometheus_url: str, expected: int, timeout: float) -> list[dict]:
    """Wait until the `expected` targets are known and each was scraped once (or `timeout` passes)."""
    # Prometheus applies its first target list a few seconds after it is ready, then spreads the
    # first scrapes over one interval.
    deadline = time.monotonic() + timeout
    targets = active_targets(prometheus_url)
    while (len(targets) < expected or any(item["health"] == "unknown" for item in targets)) and time.monotonic() < deadline:
        time.sleep(0.2)
        targets = active_targets(prometheus_url)
    return targets
