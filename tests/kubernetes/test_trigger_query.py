"""The KEDA trigger's PromQL: checked by promtool offline, then evaluated by the real Prometheus
scraping the real API's metrics port under load, as the PodMonitor does: it returns the requests in
flight that /metrics showed at each scrape (a scrape of that port is not a request in flight), and the
report's KEDA line polls exactly that query."""

import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from prediris_ops.core.errors import OptionError
from prediris_ops.core.localapi import local_api
from prediris_ops.kubernetes.trigger import trigger_query
from prediris_ops.load.keda import QueryWatcher, keda_watcher
from prediris_ops.observe import prometheus_api, stack
from tests.support.config import project_config
from tests.support.polling import wait_for
from tests.support.tools import free_port, require_program

# Large batches keep each request inside the app for a while, so scrapes catch some in flight.
BATCH = json.dumps({"X": [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]] * 400}).encode()
CLIENTS = 12
LOAD_SECONDS = 8


def test_promtool_accepts_the_query(tmp_path):
    promtool = require_program("promtool", "apt-get install prometheus")
    rules = tmp_path / "keda.yml"
    rules.write_text(
        yaml.safe_dump({"groups": [{"name": "keda", "rules": [{"record": "keda:prediris_in_flight", "expr": trigger_query()}]}]})
    )
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rules found" in result.stdout


def test_promtool_would_catch_a_broken_query(tmp_path):
    promtool = require_program("promtool", "apt-get install prometheus")
    rules = tmp_path / "keda.yml"
    broken = trigger_query().replace(")", "", 1)
    rules.write_text(yaml.safe_dump({"groups": [{"name": "keda", "rules": [{"record": "keda:broken", "expr": broken}]}]}))
    assert subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60).returncode != 0


@pytest.fixture(scope="module")
def scraped_api(model_dir, tmp_path_factory):
    """The real API with /metrics on its own port, and the real Prometheus scraping that port every second
    as job="prediris" (as the PodMonitor, and `invoke observe` with api.metrics_port, do), once it has
    scraped it (Prometheus lists its targets a few seconds after it is ready)."""
    programs = (
        require_program("prometheus", "apt-get install prometheus"),
        require_program("prometheus-node-exporter", "apt-get install prometheus-node-exporter"),
    )
    folder = tmp_path_factory.mktemp("keda")
    metrics_port = free_port()
    with local_api(model_dir, folder / "api.log", settings={"metrics_port": metrics_port}) as api:
        options = stack.StackOptions(
            state_dir=folder / "observe",
            api_targets=(f"127.0.0.1:{metrics_port}",),
            prometheus_port=free_port(),
            node_exporter_port=free_port(),
            grafana_port=free_port(),
            scrape_interval="1s",
            retention="1d",
        )
        state = stack.start_native(options, programs, 60)
        try:
            metrics_url = f"http://127.0.0.1:{metrics_port}"

            def scraped() -> bool:
                targets = prometheus_api.active_targets(options.prometheus_url)
                return any(item["scrapeUrl"].startswith(metrics_url + "/") and item["health"] == "up" for item in targets)

            wait_for(scraped, 30, "Prometheus's first scrape of the metrics port")
            yield api.base_url, metrics_url, options.prometheus_url
        finally:
            stack.stop_native(state)


def gauge(metrics_url: str) -> float:
    """Return prediris_http_requests_in_flight as the metrics port's /metrics shows it."""
    with urllib.request.urlopen(metrics_url + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("prediris_http_requests_in_flight "):
                return float(line.split()[1])
    raise AssertionError("/metrics has no prediris_http_requests_in_flight")


def series(prometheus: str, expr: str, start: float, end: float) -> dict[float, float]:
    """Return {timestamp: value} of a range query, one point a second."""
    query = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": "1s"})
    with urllib.request.urlopen(f"{prometheus}/api/v1/query_range?{query}", timeout=10) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    [result] = answer["data"]["result"]
    return {float(stamp): float(value) for stamp, value in result["values"]}


def load(base_url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        request = urllib.request.Request(base_url + "/predict", data=BATCH, headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()


@pytest.mark.e2e
@pytest.mark.prometheus
@pytest.mark.alone
def test_under_load_the_query_returns_what_the_metrics_port_shows(scraped_api):
    base_url, metrics_url, prometheus = scraped_api
    query = trigger_query()
    # Idle: reading the metrics port is no request in flight; the query counts clients' requests: none.
    assert gauge(metrics_url) == 0.0
    wait_for(
        lambda: [item["value"][1] for item in prometheus_api.query(prometheus, query)] == ["0"], 30, "the first scrape of the idle API"
    )

    watcher = QueryWatcher(prometheus, query, every_seconds=1.0)
    stop = threading.Event()
    clients = [threading.Thread(target=load, args=(base_url, stop), daemon=True) for _ in range(CLIENTS)]
    started = time.time()
    with watcher:
        for client in clients:
            client.start()
        direct = []
        while time.time() < started + LOAD_SECONDS:
            direct.append(gauge(metrics_url))
            time.sleep(0.1)
        stop.set()
        for client in clients:
            client.join(30)
    ended = time.time()
    time.sleep(2)  # the last scrapes of the window are stored

    raw = series(prometheus, 'prediris_http_requests_in_flight{job="prediris"}', started, ended)
    keda = series(prometheus, query, started, ended)
    assert len(keda) >= LOAD_SECONDS - 2
    # At every point, the query is what the scrape read from /metrics.
    assert keda == raw
    # The load was seen both ways: by our own reads of /metrics and by the scrapes the query sums.
    assert max(direct) >= 1 and max(keda.values()) >= 1, (direct, keda)
    # The watcher the perf report uses polled the same query and found the same load.
    assert len(watcher.readings) >= LOAD_SECONDS - 2 and watcher.problems == []
    assert max(reading.value for reading in watcher.readings) >= 1


@pytest.mark.e2e
@pytest.mark.prometheus
def test_invoke_perf_polls_the_trigger_query_on_the_observe_prometheus_only_when_it_scrapes_the_target(scraped_api, tmp_path, capsys):
    _, metrics_url, prometheus = scraped_api
    # What `invoke observe --background` leaves for later tasks: its state file.
    stack.StackState("native", prometheus).save(tmp_path)
    c = project_config(perf={"replica_poll_seconds": 3}, observe={"state_dir": str(tmp_path)})
    watcher = keda_watcher(c, None, metrics_url)
    assert (watcher.prometheus_url, watcher.query, watcher.every_seconds) == (prometheus, trigger_query(), 3.0)
    assert f"KEDA: evaluating the ScaledObject's query on {prometheus} every 3 s: {trigger_query()}" in capsys.readouterr().out

    elsewhere = f"http://127.0.0.1:{free_port()}"
    assert keda_watcher(c, None, elsewhere) is None
    assert (
        f"KEDA: no line: {prometheus} does not scrape {elsewhere} (`invoke observe --api {elsewhere[7:]}` does)" in capsys.readouterr().out
    )
    # An explicit --prometheus (a cluster's, port-forwarded) is used as given, whatever it scrapes.
    assert keda_watcher(c, prometheus + "/", elsewhere).prometheus_url == prometheus

    with pytest.raises(
        OptionError, match=r"--prometheus http://127.0.0.1:\d+ does not answer /-/ready: start it with `invoke observe --background`"
    ):
        keda_watcher(c, elsewhere, metrics_url)
    (tmp_path / stack.STATE_FILE).unlink()
    assert keda_watcher(c, None, metrics_url) is None, "no observe stack, no --prometheus: no KEDA line"
