"""prediris_ops.observe.stack: the rendered configuration, the commands, durations, and process bookkeeping."""

import subprocess
import sys

import pytest
import yaml

from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from prediris_ops.observe import stack


def test_render_keeps_the_jobs_and_replaces_targets_interval_and_rules():
    config = stack.render_config(
        api_targets=["127.0.0.1:5061", "127.0.0.1:5062"],
        node_target="127.0.0.1:19100",
        prometheus_target="127.0.0.1:19090",
        scrape_interval="1s",
        rule_files=["/abs/rules/*.yml"],
    )
    base = yaml.safe_load(stack.BASE_CONFIG.read_text())
    assert [job["job_name"] for job in config["scrape_configs"]] == [job["job_name"] for job in base["scrape_configs"]]
    targets = {job["job_name"]: job["static_configs"] for job in config["scrape_configs"]}
    assert targets == {
        "prediris": [{"targets": ["127.0.0.1:5061", "127.0.0.1:5062"]}],
        "node": [{"targets": ["127.0.0.1:19100"]}],
        "prometheus": [{"targets": ["127.0.0.1:19090"]}],
    }
    assert config["global"]["scrape_interval"] == config["global"]["evaluation_interval"] == "1s"
    assert config["rule_files"] == ["/abs/rules/*.yml"]
    assert config["scrape_configs"][0]["metrics_path"] == "/metrics"


def test_the_written_config_says_where_it_comes_from_and_reads_back(tmp_path):
    config = stack.render_config(api_targets=["a:1"], node_target="b:2", prometheus_target="c:3", scrape_interval="5s", rule_files=[])
    path = stack.write_config(config, tmp_path / "deep" / "prometheus.yml")
    assert path.read_text().startswith("# Rendered by `invoke observe` from observability/prometheus.yml")
    assert yaml.safe_load(path.read_text()) == config


def test_prometheus_listens_where_told_and_stores_under_the_state_folder(tmp_path):
    assert stack.prometheus_argv(
        "/usr/bin/prometheus",
        config_path=tmp_path / "prometheus.yml",
        data_dir=tmp_path / "data",
        host="127.0.0.1",
        port=19090,
        retention="7d",
    ) == [
        "/usr/bin/prometheus",
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        "--storage.tsdb.retention.time=7d",
        "--web.listen-address=127.0.0.1:19090",
    ]
    assert stack.node_exporter_argv("prometheus-node-exporter", "127.0.0.1", 19100) == [
        "prometheus-node-exporter",
        "--web.listen-address=127.0.0.1:19100",
    ]


def test_the_default_state_folder_is_under_build_and_git_ignored():
    assert ROOT.joinpath(".gitignore").read_text().splitlines().count("/build/") == 1
    assert yaml.safe_load(ROOT.joinpath("invoke.yaml").read_text())["observe"]["state_dir"].startswith("build/")


@pytest.mark.parametrize(("duration", "expected"), [("5s", 5), ("500ms", 0.5), ("1m", 60), ("2h", 7200)])
def test_prometheus_durations_convert_to_seconds(duration, expected):
    assert stack.seconds(duration) == expected


@pytest.mark.parametrize("duration", ["5", "5 s", "-1s", "0s", "1d2h", ""])
def test_other_durations_are_refused(duration):
    with pytest.raises(OpsError, match="is not a positive Prometheus duration"):
        stack.seconds(duration)


def test_state_round_trips_through_state_json(tmp_path):
    state = stack.StackState("native", "http://127.0.0.1:1", [stack.ManagedProcess("prometheus", 123, "/usr/bin/prometheus", "/x.log")])
    state.save(tmp_path)
    assert stack.StackState.load(tmp_path) == state
    assert stack.StackState.load(tmp_path / "elsewhere") is None


def test_a_process_is_alive_only_while_it_runs_the_program_we_started():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert stack.alive(stack.ManagedProcess("sleeper", process.pid, sys.executable, ""))
        # The same pid running another program (a reused pid) is not ours to signal.
        assert not stack.alive(stack.ManagedProcess("prometheus", process.pid, "/usr/bin/prometheus", ""))
    finally:
        process.kill()
        process.wait()
    assert not stack.alive(stack.ManagedProcess("sleeper", process.pid, sys.executable, ""))


def test_stop_native_skips_processes_that_are_already_gone():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert stack.stop_native(stack.StackState("native", "", [stack.ManagedProcess("prometheus", process.pid, sys.executable, "")])) == []
