"""Write the generated rule files: observability/rules/drift.yml and the Kubernetes PrometheusRule.

The PrometheusRule carries every group of observability/rules/*.yml unchanged, so the cluster's
Prometheus Operator evaluates exactly what `promtool` checks and tests here; tests/observe compare
both files with what this module writes, so neither can drift from its source. Run
`python -m prediris_ops.observe.rulefiles` after changing a rule file or driftrules.py.
"""

from pathlib import Path
from typing import Any

import yaml

from prediris_ops.core.paths import ROOT
from prediris_ops.observe.driftrules import drift_group
from prediris_ops.observe.stack import RULES_DIR

DRIFT_RULES = RULES_DIR / "drift.yml"
PROMETHEUS_RULE = ROOT / "deploy" / "kubernetes" / "base" / "prometheusrule.yaml"
DRIFT_HEADER = (
    "# Drift: PSI of the last window of traffic against the model card's reference (docs/drift.md).\n"
    "# Written by `python -m prediris_ops.observe.rulefiles` from packages/prediris_ops/observe/driftrules.py: edit that.\n"
)
RULE_HEADER = (
    "# observability/rules/*.yml as a Prometheus Operator PrometheusRule: the same groups the local Prometheus\n"
    "# loads and `promtool test rules` checks. Written by `python -m prediris_ops.observe.rulefiles`: edit the rule files.\n"
    "# The operator's ruleSelector must match these labels, as its podMonitorSelector matches the PodMonitor's.\n"
)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line PromQL as literal blocks, as a person writes it."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _string)


def dump(document: Any) -> str:
    """Return `document` as YAML, keys in order, PromQL blocks literal."""
    return yaml.dump(document, Dumper=_BlockDumper, sort_keys=False, width=200, allow_unicode=True)


def drift_rules_text(**parameters: Any) -> str:
    """Return drift.yml for these drift_group parameters (the defaults give the committed file)."""
    return DRIFT_HEADER + dump({"groups": [drift_group(**parameters)]})


def prometheus_rule_text(rules_dir: Path = RULES_DIR) -> str:
    """Return the PrometheusRule holding every group of the rule files in `rules_dir`, in file order."""
    groups = [group for path in sorted(rules_dir.glob("*.yml")) for group in yaml.safe_load(path.read_text())["groups"]]
    document = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "prediris", "labels": {"app.kubernetes.io/name": "prediris"}},
        "spec": {"groups": groups},
    }
    return RULE_HEADER + dump(document)


def main() -> None:
    """Rewrite drift.yml, then the PrometheusRule from every rule file."""
    DRIFT_RULES.write_text(drift_rules_text())
    PROMETHEUS_RULE.write_text(prometheus_rule_text())
    print(f"written: {DRIFT_RULES.relative_to(ROOT)}, {PROMETHEUS_RULE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
