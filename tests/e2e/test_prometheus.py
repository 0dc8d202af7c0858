"""The real API scraped by the real Prometheus and node-exporter, started by `invoke observe` itself.

Every PromQL expression we ship (recording rules, alerts, the Grafana dashboard) is evaluated
against that live Prometheus, so a typo or an unknown function fails here rather than on a dashboard.
"""

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from prediris_ops.core.errors import OpsError
from prediris_ops.core.localapi import answers, local_api
from prediris_ops.core.paths import ROOT
from prediris_ops.observe import prometheus_api, stack
from tests.support.polling import wait_for
from tests.support.tools import free_port, require_program

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

N_PREDICTIONS = 7
SCRAPE_INTERVAL = "1s"
DASHBOARD = stack.OBSERVABILITY_DIR / "grafana" / "dashboards" / "prediris.json"
# What Grafana substitutes before it sends a dashboard query; any window of a few scrapes will do.
GRAFANA_VARIABLES = {"$__rate_interval": "15s", "$__interval": "1s", "$__range": "5m"}
READY_LINE = "Ctrl-C stops the stack."


def scalar(prometheus: str, expr: str) -> float | None:
    result = prometheus_api.query(prometheus, expr)
    return float(result[0]["value"][1]) if result else None


@pytest.fixture(scope="module")
def observed(model_dir, tmp_path_factory):
    """The API on a free port, and `invoke observe` (foreground, as a person runs it) scraping it."""
    require_program("prometheus", "apt-get install prometheus")
    require_program("prometheus-node-exporter", "apt-get install prometheus-node-exporter")
    logs = tmp_path_factory.mktemp("observe")
    with local_api(model_dir, logs / "api.log", settings={"shutdown_grace_seconds": 1}) as api:
        prometheus = f"http://127.0.0.1:{free_port()}"
        argv = [
            *(sys.executable, "-m", "invoke", "observe"),
            *("--api", api.base_url.removeprefix("http://")),
            *("--prometheus-port", prometheus.rsplit(":", 1)[1], "--node-exporter-port", str(free_port())),
            *("--scrape-interval", SCRAPE_INTERVAL, "--state-dir", str(logs / "state")),
        ]
        output = logs / "invoke-observe.out"
        with open(output, "w") as sink:
            task = subprocess.Popen(argv, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        try:
            wait_for(lambda: task.poll() is not None or READY_LINE in output.read_text(), 90, "`invoke observe` to start")
            assert task.poll() is None, output.read_text()
            yield {"api": api, "prometheus": prometheus, "task": task, "output": output, "state_dir": logs / "state"}
        finally:
            if task.poll() is None:
                task.send_signal(signal.SIGINT)
                try:
                    task.wait(30)
                except subprocess.TimeoutExpired:
                    task.kill()
                    task.wait()


def predict(base_url: str) -> None:
    request = urllib.request.Request(
        base_url + "/predict", data=b'{"X": [5.1, 3.5, 1.4, 0.2]}', headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["prediction"] == "setosa"


def test_invoke_observe_prints_where_to_look(observed):
    out = observed["output"].read_text()
    assert f"Prometheus     {observed['prometheus']}" in out
    assert f"  up      prediris    {observed['api'].base_url}/metrics" in out
    assert "  up      node        " in out
    assert f"your API's traffic: {observed['prometheus']}/graph?g0.expr=" in out


def scraped_after(prometheus: str, moment: float) -> None:
    """Wait for a scrape of the API that started after `moment` (it has seen every request answered before)."""
    wait_for(lambda: (scalar(prometheus, 'timestamp(up{job="prediris"})') or 0) > moment + 0.1, 30, "a scrape after the predictions")


def test_prometheus_stores_exactly_the_predictions_sent_and_node_exporter_is_up(observed):
    prometheus, api = observed["prometheus"], observed["api"]
    served = 'sum(prediris_http_requests_total{job="prediris", route="/predict", method="POST", status="200"})'
    setosa = 'prediris_predictions_total{job="prediris", class_name="setosa"}'
    scraped_after(prometheus, time.time())  # what earlier tests of the module sent is counted
    before = (scalar(prometheus, served), scalar(prometheus, setosa) or 0)
    for _ in range(N_PREDICTIONS):
        predict(api.base_url)
    scraped_after(prometheus, time.time())
    assert scalar(prometheus, served) == before[0] + N_PREDICTIONS
    # The error statuses are pre-initialised at 0: nothing but successes was recorded.
    assert scalar(prometheus, 'sum(prediris_http_requests_total{job="prediris", route="/predict", status!="200"})') == 0
    assert scalar(prometheus, setosa) == before[1] + N_PREDICTIONS
    assert scalar(prometheus, 'up{job="prediris"}') == 1
    assert scalar(prometheus, 'up{job="node"}') == 1
    assert scalar(prometheus, 'count(node_cpu_seconds_total{job="node", mode="idle"})') >= 1


def rule_expressions() -> list[tuple[str, str]]:
    rules = []
    for path in sorted(stack.RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [(f"{path.name}: {rule.get('record') or rule.get('alert')}", rule["expr"]) for rule in group["rules"]]
    return rules


def dashboard_expressions() -> list[tuple[str, str]]:
    expressions = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            expressions.append((f"dashboard: {panel['title']} {target['refId']}", expr))
    return expressions


def test_every_rule_and_dashboard_expression_evaluates_on_the_live_prometheus(observed):
    prometheus = observed["prometheus"]
    expressions = rule_expressions() + dashboard_expressions()
    assert len(expressions) >= 30
    assert not [name for name, expr in dashboard_expressions() if "$" in expr], "a dashboard variable is not substituted"
    failures = []
    for name, expr in expressions:
        try:
            prometheus_api.query(prometheus, expr)
        except Exception as error:
            failures.append(f"{name}: {error}")
    assert failures == []


def test_prometheus_evaluates_every_rule_without_error_and_records_the_traffic(observed):
    prometheus = observed["prometheus"]
    predict(observed["api"].base_url)  # the traffic to record
    expected = {name.split(": ", 1)[1] for name, _ in rule_expressions()}

    def evaluated_rules():
        with urllib.request.urlopen(f"{prometheus}/api/v1/rules", timeout=10) as response:
            rules = [rule for group in json.load(response)["data"]["groups"] for rule in group["rules"]]
        done = [rule for rule in rules if not rule["lastEvaluation"].startswith("0001-")]
        return rules if len(done) == len(rules) == len(expected) else None

    rules = wait_for(evaluated_rules, 30, "every rule to be evaluated once")
    assert {rule["name"] for rule in rules} == expected
    assert [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"] == []
    recorded = wait_for(
        lambda: prometheus_api.query(
            prometheus, 'job_route_method_status:prediris_http_requests:rate1m{route="/predict", status="200"} > 0'
        ),
        30,
        "the recorded /predict request rate",
    )
    assert recorded[0]["metric"]["job"] == "prediris"


def test_an_expression_prometheus_cannot_parse_is_reported_not_ignored(observed):
    with pytest.raises(OpsError, match=r"Prometheus refused 'sum\(rate\(prediris_http_requests_total\[1m\]\)': bad_data: "):
        prometheus_api.query(observed["prometheus"], "sum(rate(prediris_http_requests_total[1m])")


def test_ctrl_c_stops_prometheus_and_node_exporter_and_forgets_the_stack(observed):
    task, state_dir = observed["task"], observed["state_dir"]
    processes = stack.StackState.load(state_dir).processes
    assert all(stack.alive(item) for item in processes)
    task.send_signal(signal.SIGINT)
    assert task.wait(60) == 0
    out = observed["output"].read_text()
    assert "observe: stopped prometheus" in out
    assert "Traceback" not in out
    assert not any(stack.alive(item) for item in processes)
    assert not answers(f"{observed['prometheus']}/-/ready")
    assert not (state_dir / stack.STATE_FILE).exists()
