"""observability/rules/: promtool accepts them, every alert tells a person what to do, and the
alerts fire (and stay quiet) as rules_test.yml specifies."""

import subprocess
from pathlib import Path

import pytest
import yaml

from prediris_ops.observe.stack import BASE_CONFIG, RULES_DIR
from tests.support.tools import require_program

RULES_TEST = Path(__file__).with_name("rules_test.yml")


def rules(kind: str) -> list[dict]:
    return [
        rule
        for path in sorted(RULES_DIR.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if kind in rule
    ]


def test_the_required_alerts_exist():
    assert {rule["alert"] for rule in rules("alert")} >= {
        "PredirisAPIDown",
        "PredirisHighErrorRatio",
        "PredirisHighLatencyP99",
        "PredirisNoPredictionsWhileTrafficFlows",
    }


def test_recording_rules_cover_rate_errors_latency_percentiles_and_in_flight():
    recorded = {rule["record"] for rule in rules("record")}
    for quantile in ("p50", "p95", "p99"):
        assert f"job_route:prediris_http_request_duration_seconds:{quantile}_5m" in recorded
    assert {
        "job:prediris_http_requests:rate1m",
        "job:prediris_http_server_errors:ratio_rate5m",
        "job:prediris_http_requests_in_flight:sum",
    } <= recorded
    # level:metric:operations, the Prometheus convention for recorded series; the two drift scores
    # keep the names the issue and the docs give them.
    assert all(name.count(":") == 2 for name in recorded - {"prediris:feature_drift_psi", "prediris:class_drift_psi"})


@pytest.mark.parametrize("alert", rules("alert"), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_severity_a_summary_and_a_description_that_says_what_to_do(alert):
    assert alert["labels"]["severity"] in {"critical", "warning", "info"}
    assert alert["annotations"]["summary"].strip()
    description = alert["annotations"]["description"]
    assert len(description.split()) >= 25, "a description explains the cause and the first thing to check or do"
    assert "for" in alert


@pytest.mark.prometheus
def test_promtool_accepts_the_rules_and_the_config():
    promtool = require_program("promtool", "apt-get install prometheus")
    result = subprocess.run([promtool, "check", "config", str(BASE_CONFIG)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(list(RULES_DIR.glob('*.yml')))} rule files found" in result.stdout


@pytest.mark.prometheus
def test_alerts_fire_and_stay_quiet_as_specified():
    promtool = require_program("promtool", "apt-get install prometheus")
    result = subprocess.run(
        [promtool, "test", "rules", RULES_TEST.name], cwd=RULES_TEST.parent, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rule_tests_exercise_every_alert():
    tested = {case["alertname"] for test in yaml.safe_load(RULES_TEST.read_text())["tests"] for case in test.get("alert_rule_test", [])}
    assert tested == {rule["alert"] for rule in rules("alert")}
