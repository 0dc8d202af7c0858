"""`invoke observe`: the exact docker compose commands, the options it refuses, and --stop."""

import shlex
import socket

import pytest
import yaml
from invoke import Result
from invoke.exceptions import Exit

from prediris_ops.observe import session, stack
from prediris_ops.tasks import observe as observe_tasks
from tests.support.tools import free_port, require_program

COMPOSE = ["docker", "compose", "--project-name", "prediris-observe", "--file", str(stack.COMPOSE_FILE)]
UP = shlex.join([*COMPOSE, "up", "--detach"])
DOWN = shlex.join([*COMPOSE, "down"])


@pytest.fixture
def compose_context(make_context):
    """A MockContext whose `docker compose up/down` succeed, configured to use `docker compose`."""
    require_program("docker", "install Docker: the compose path runs the docker CLI")
    return make_context(run={UP: Result(), DOWN: Result()}, observe={"compose": ["docker", "compose"]})


def test_docker_starts_the_compose_project_with_the_rendered_config_and_ports(compose_context, compose_prometheus, tmp_path, capsys):
    observe_tasks.observe(
        compose_context,
        docker=True,
        background=True,
        prometheus_port=compose_prometheus,
        node_exporter_port=19111,
        grafana_port=13111,
        state_dir=str(tmp_path),
    )
    config_path = tmp_path / "prometheus.yml"
    compose_context.run.assert_called_once_with(
        UP,
        warn=True,
        hide=False,
        env={
            "PREDIRIS_OBSERVE_PROMETHEUS_CONFIG": str(config_path),
            "PREDIRIS_OBSERVE_PROMETHEUS_PORT": str(compose_prometheus),
            "PREDIRIS_OBSERVE_NODE_EXPORTER_PORT": "19111",
            "PREDIRIS_OBSERVE_GRAFANA_PORT": "13111",
        },
        pty=False,
    )
    config = yaml.safe_load(config_path.read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    # From inside a container, the API on the host is host.docker.internal at the API's port.
    assert targets == {"prediris": ["host.docker.internal:5000"], "node": ["node-exporter:9100"], "prometheus": ["localhost:9090"]}
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    out = capsys.readouterr().out
    assert "Grafana        http://127.0.0.1:13111/d/prediris" in out
    assert "up      prediris    http://host.docker.internal:5000/metrics" in out
    assert "stop it with `invoke observe --stop`" in out
    assert stack.StackState.load(tmp_path).mode == "compose"


def test_stop_takes_the_compose_project_down_and_forgets_it(compose_context, compose_prometheus, tmp_path, capsys):
    observe_tasks.observe(compose_context, docker=True, background=True, prometheus_port=compose_prometheus, state_dir=str(tmp_path))
    observe_tasks.observe(compose_context, stop=True, state_dir=str(tmp_path))
    assert [call.args[0] for call in compose_context.run.call_args_list] == [UP, DOWN]
    assert not (tmp_path / stack.STATE_FILE).exists()
    assert "observe: stopped the compose project" in capsys.readouterr().out


def test_a_second_stack_is_refused_while_the_first_runs(compose_context, compose_prometheus, tmp_path):
    observe_tasks.observe(compose_context, docker=True, background=True, prometheus_port=compose_prometheus, state_dir=str(tmp_path))
    with pytest.raises(Exit, match=r"is running \(http://127.0.0.1:\d+\): stop it with `invoke observe --stop`"):
        observe_tasks.observe(compose_context, docker=True, background=True, prometheus_port=compose_prometheus, state_dir=str(tmp_path))
    assert compose_context.run.call_count == 1


def test_an_api_option_replaces_the_default_target(compose_context, compose_prometheus, tmp_path):
    observe_tasks.observe(
        compose_context,
        docker=True,
        background=True,
        api="10.0.0.5:8080, 10.0.0.6:8080",
        prometheus_port=compose_prometheus,
        state_dir=str(tmp_path),
    )
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    assert config["scrape_configs"][0]["static_configs"] == [{"targets": ["10.0.0.5:8080", "10.0.0.6:8080"]}]


def test_stop_without_a_recorded_stack_says_so_and_runs_nothing(make_context, tmp_path, capsys):
    c = make_context()
    observe_tasks.observe(c, stop=True, state_dir=str(tmp_path))
    assert f"no stack recorded in {tmp_path}; nothing to stop" in capsys.readouterr().out
    c.run.assert_not_called()


def test_the_compose_command_defaults_to_the_configured_docker_client(make_context):
    assert session.compose_command(make_context(docker={"executable": "/usr/bin/docker"}).config) == ["/usr/bin/docker", "compose"]
    assert session.compose_command(make_context(observe={"compose": ["docker-compose"]}).config) == ["docker-compose"]


def test_without_native_binaries_or_docker_the_task_names_both_installs(make_context, tmp_path):
    c = make_context(observe={"prometheus": "no-such-prometheus", "compose": ["no-such-docker", "compose"]})
    with pytest.raises(Exit, match=r"^neither prometheus \+ prometheus-node-exporter nor docker are on PATH: `apt-get install") as raised:
        observe_tasks.observe(c, state_dir=str(tmp_path))
    assert raised.value.code == 2
    c.run.assert_not_called()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"api": "localhost"}, r"--api target 'localhost' is not HOST:PORT"),
        ({"api": "http://127.0.0.1:5000/metrics"}, r"is not HOST:PORT"),
        ({"prometheus_port": "70000"}, r"--prometheus-port=70000 is not a TCP port"),
        ({"prometheus_port": "lots"}, r"a port option is not an integer"),
        ({"prometheus_port": "19200", "node_exporter_port": "19200"}, r"cannot both use port 19200"),
        ({"scrape_interval": "fast"}, r"--scrape-interval='fast' is not a positive Prometheus duration"),
        ({"scrape_interval": "0s"}, r"--scrape-interval='0s' is not a positive Prometheus duration"),
    ],
    ids=["host-only", "url", "port-range", "port-text", "same-ports", "interval-text", "interval-zero"],
)
def test_bad_options_stop_the_task_with_one_line_before_starting_anything(make_context, tmp_path, options, message):
    c = make_context()
    with pytest.raises(Exit, match=message) as raised:
        observe_tasks.observe(c, state_dir=str(tmp_path), **options)
    assert raised.value.code == 2
    assert "\n" not in raised.value.message
    c.run.assert_not_called()
    assert not (tmp_path / stack.STATE_FILE).exists()


@pytest.mark.prometheus
def test_a_taken_port_is_named_with_the_option_that_changes_it(make_context, tmp_path):
    require_program("prometheus", "apt-get install prometheus")
    require_program("prometheus-node-exporter", "apt-get install prometheus-node-exporter")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(Exit, match=rf"port {port} on 127.0.0.1 is in use \(another Prometheus\?\): pass --prometheus-port"):
            observe_tasks.observe(make_context(), prometheus_port=port, node_exporter_port=free_port(), state_dir=str(tmp_path))
    assert not (tmp_path / stack.STATE_FILE).exists()
