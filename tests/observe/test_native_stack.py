"""`invoke observe --background` / `--stop` with Debian's real prometheus and prometheus-node-exporter."""

import urllib.request

import pytest
import yaml
from invoke.exceptions import Exit

from prediris_ops.core.localapi import answers
from prediris_ops.observe import stack
from prediris_ops.tasks import observe as observe_tasks
from tests.support.tools import free_port, require_program

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]


@pytest.fixture(autouse=True)
def native_binaries():
    require_program("prometheus", "apt-get install prometheus")
    require_program("prometheus-node-exporter", "apt-get install prometheus-node-exporter")


def test_background_starts_both_binaries_and_stop_ends_them(make_context, tmp_path, capsys):
    c = make_context()
    prometheus_port, node_port = free_port(), free_port()
    # No API listens on this target: the stack still starts, and the report says how to fix it.
    api_target = f"127.0.0.1:{free_port()}"
    observe_tasks.observe(
        c,
        api=api_target,
        prometheus_port=prometheus_port,
        node_exporter_port=node_port,
        scrape_interval="1s",
        state_dir=str(tmp_path),
        background=True,
    )
    state = stack.StackState.load(tmp_path)
    try:
        assert state.mode == "native"
        assert sorted(item.name for item in state.processes) == ["node-exporter", "prometheus"]
        assert all(stack.alive(item) for item in state.processes)
        assert answers(f"http://127.0.0.1:{prometheus_port}/-/ready")
        with urllib.request.urlopen(f"http://127.0.0.1:{node_port}/metrics", timeout=10) as response:
            assert b"node_cpu_seconds_total" in response.read()
        config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
        assert config["rule_files"] == [str(stack.RULES_DIR / "*.yml")]
        assert (tmp_path / "prometheus-data").is_dir()
        out = capsys.readouterr().out
        assert f"Prometheus     http://127.0.0.1:{prometheus_port}" in out
        assert f"  up      node        http://127.0.0.1:{node_port}/metrics" in out
        assert f"  down    prediris    http://{api_target}/metrics  (" in out
        assert "start the API with `invoke up`" in out
        c.run.assert_not_called()

        with pytest.raises(Exit, match="is running"):
            observe_tasks.observe(c, prometheus_port=free_port(), node_exporter_port=free_port(), state_dir=str(tmp_path), background=True)
    finally:
        observe_tasks.observe(c, stop=True, state_dir=str(tmp_path))
    assert not any(stack.alive(item) for item in state.processes)
    assert not answers(f"http://127.0.0.1:{prometheus_port}/-/ready")
    assert not (tmp_path / stack.STATE_FILE).exists()
    assert "observe: stopped prometheus" in capsys.readouterr().out


def test_a_stale_state_file_does_not_block_a_new_stack(make_context, tmp_path):
    stack.StackState("native", "http://127.0.0.1:1", [stack.ManagedProcess("prometheus", 2**22 + 7, "/usr/bin/prometheus", "")]).save(
        tmp_path
    )
    c = make_context()
    observe_tasks.observe(
        c, prometheus_port=free_port(), node_exporter_port=free_port(), scrape_interval="1s", state_dir=str(tmp_path), background=True
    )
    try:
        assert all(stack.alive(item) for item in stack.StackState.load(tmp_path).processes)
    finally:
        observe_tasks.observe(c, stop=True, state_dir=str(tmp_path))
