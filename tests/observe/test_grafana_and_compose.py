"""observability/docker-compose.yml and Grafana's provisioning: the files they mount exist, the
dashboard uses the provisioned datasource and shows what an operator needs."""

import json
import re

import yaml

from prediris_ops.observe.stack import COMPOSE_FILE, OBSERVABILITY_DIR

GRAFANA = OBSERVABILITY_DIR / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "prediris.json"


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for target in panel.get("targets", [])]


def test_compose_runs_prometheus_node_exporter_and_grafana_on_loopback_ports():
    services = compose()["services"]
    assert set(services) == {"prometheus", "node-exporter", "grafana"}
    for name, service in services.items():
        assert all(port.startswith("127.0.0.1:") for port in service["ports"]), name
        assert re.match(r"^[a-z/-]+:v?\d+\.\d+\.\d+$", service["image"]), f"{name}: pin the image version"


def test_every_file_compose_mounts_exists():
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", volume.split(":")[0])
            if source.startswith("."):
                assert (COMPOSE_FILE.parent / source).exists(), volume


def test_the_compose_prometheus_finds_the_rules_where_the_config_says():
    prometheus = compose()["services"]["prometheus"]
    assert "./rules:/etc/prometheus/rules:ro" in prometheus["volumes"]
    config = yaml.safe_load((OBSERVABILITY_DIR / "prometheus.yml").read_text())
    # rule_files are relative to the config file, mounted as /etc/prometheus/prometheus.yml.
    assert config["rule_files"] == ["rules/*.yml"]
    assert "host.docker.internal:host-gateway" in prometheus["extra_hosts"]


def test_grafana_provisions_the_datasource_the_dashboard_uses():
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    board = json.loads(DASHBOARD.read_text())
    used = {json.dumps(panel["datasource"], sort_keys=True) for panel in board["panels"] if "datasource" in panel}
    assert used == {json.dumps({"type": "prometheus", "uid": datasource["uid"]}, sort_keys=True)}
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "prediris.yml").read_text())["providers"][0]
    grafana = compose()["services"]["grafana"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    assert board["uid"] == "prediris"


def test_the_dashboard_shows_traffic_errors_latency_concurrency_predictions_and_resources():
    exprs = "\n".join(dashboard_exprs())
    for needed in (
        "prediris_http_requests_total",
        'status=~"5.."',
        "histogram_quantile(0.5,",
        "histogram_quantile(0.95,",
        "histogram_quantile(0.99,",
        "prediris_http_requests_in_flight",
        "prediris_predictions_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
    ):
        assert needed in exprs, needed


def test_panels_do_not_overlap_on_the_grid():
    taken = set()
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        grid = panel["gridPos"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & taken, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        taken |= cells


def test_the_dashboard_is_valid_json_with_unique_panel_ids():
    board = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))


def test_the_drift_panel_shows_each_features_psi_and_the_rows_its_window_holds():
    [panel] = [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if panel["title"].startswith("Drift")]
    exprs = [target["expr"] for target in panel["targets"]]
    assert any(expr.startswith("prediris:feature_drift_psi") for expr in exprs)
    assert any(expr.startswith("prediris:class_drift_psi") for expr in exprs)
    assert any("job_version_feature:prediris_feature_rows:increase1h" in expr for expr in exprs)
    recorded = {
        rule.get("record")
        for group in yaml.safe_load((OBSERVABILITY_DIR / "rules" / "drift.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    assert {"prediris:feature_drift_psi", "prediris:class_drift_psi", "job_version_feature:prediris_feature_rows:increase1h"} <= recorded
    steps = [step["value"] for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 0.1, 0.2]
