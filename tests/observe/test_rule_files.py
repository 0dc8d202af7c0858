"""The generated rule files: drift.yml is what driftrules.py writes, the Kubernetes PrometheusRule holds
exactly the groups of observability/rules/, and the drift window is a parameter promtool accepts."""

import subprocess

import pytest
import yaml

from prediris_ops.observe import rulefiles
from prediris_ops.observe.driftrules import CLASS_PSI, FEATURE_PSI, drift_group
from prediris_ops.observe.stack import RULES_DIR
from tests.support.tools import require_program

REGENERATE = "run `python -m prediris_ops.observe.rulefiles` and commit the result"


def test_the_committed_drift_rules_are_what_driftrules_writes():
    assert rulefiles.DRIFT_RULES.read_text() == rulefiles.drift_rules_text(), REGENERATE


def test_the_prometheusrule_holds_every_group_of_the_rule_files_unchanged():
    assert rulefiles.PROMETHEUS_RULE.read_text() == rulefiles.prometheus_rule_text(), REGENERATE
    shipped = yaml.safe_load(rulefiles.PROMETHEUS_RULE.read_text())
    local = [group for path in sorted(RULES_DIR.glob("*.yml")) for group in yaml.safe_load(path.read_text())["groups"]]
    assert shipped["kind"] == "PrometheusRule"
    assert shipped["spec"]["groups"] == local
    assert {"prediris-alerts", "prediris-recording", "prediris-drift"} <= {group["name"] for group in local}


def test_the_drift_group_records_both_scores_and_alerts_on_features_only_with_enough_rows():
    rules = drift_group()["rules"]
    assert {FEATURE_PSI, CLASS_PSI} <= {rule.get("record") for rule in rules}
    [alert] = [rule for rule in rules if "alert" in rule]
    assert alert["alert"] == "PredirisFeatureDrift"
    assert "> 0.2" in alert["expr"] and ">= 1000" in alert["expr"] and alert["for"] == "15m"
    assert all("[1h]" in rule["expr"] for rule in rules if "increase(" in rule.get("expr", ""))


@pytest.mark.prometheus
def test_a_short_window_gives_rules_promtool_accepts(tmp_path):
    promtool = require_program("promtool", "apt-get install prometheus")
    short = tmp_path / "drift.yml"
    short.write_text(rulefiles.drift_rules_text(window="30s", for_="0s"))
    assert "[30s]" in short.read_text() and "[1h]" not in short.read_text()
    result = subprocess.run([promtool, "check", "rules", str(short)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
