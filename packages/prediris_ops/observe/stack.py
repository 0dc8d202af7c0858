"""The local observability stack: Prometheus and node-exporter scraping the prediris API.

Natively when the binaries are on PATH (Debian: `prometheus`, `prometheus-node-exporter`), else
through `observability/docker-compose.yml` (which adds Grafana). The Prometheus configuration is
rendered from `observability/prometheus.yml` with the actual targets into the state folder (under
build/, never the repository), next to the storage, the logs and `state.json`, which lets
`invoke observe --stop` stop a stack started in the background.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from prediris_ops.core import durations
from prediris_ops.core.errors import OpsError, OptionError
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import runs_program, wait_http

OBSERVABILITY_DIR = ROOT / "observability"
BASE_CONFIG = OBSERVABILITY_DIR / "prometheus.yml"
RULES_DIR = OBSERVABILITY_DIR / "rules"
COMPOSE_FILE = OBSERVABILITY_DIR / "docker-compose.yml"
# Job names the rules, alerts and dashboard select on (see observability/prometheus.yml).
API_JOB, NODE_JOB, PROMETHEUS_JOB = "prediris", "node", "prometheus"
STATE_FILE = "state.json"
# Where Prometheus finds the rules inside the compose service (the repo's rules/ is mounted there).
COMPOSE_RULES = "/etc/prometheus/rules/*.yml"
# The processes this interpreter started, by pid: polling them reaps them, and holding them lets a
# stack started with --background outlive the task without a "still running" ResourceWarning.
_CHILDREN: dict[int, subprocess.Popen] = {}
_DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")
_TARGET = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


@dataclass(frozen=True)
class StackOptions:
    """What the stack listens on and scrapes; every field comes from a task option or invoke.yaml."""

    state_dir: Path
    api_targets: tuple[str, ...]
    prometheus_port: int
    node_exporter_port: int
    grafana_port: int
    scrape_interval: str
    retention: str
    host: str = "127.0.0.1"

    def check(self) -> None:
        """Refuse values Prometheus would reject later, naming the option to fix."""
        for name in ("prometheus_port", "node_exporter_port", "grafana_port"):
            port = getattr(self, name)
            if not 0 < port < 65536:
                raise OpsError(f"--{name.replace('_', '-')}={port} is not a TCP port (1-65535)", code=2)
        if self.prometheus_port == self.node_exporter_port:
            raise OpsError(
                f"Prometheus and node-exporter cannot both use port {self.prometheus_port}: pass another --node-exporter-port", code=2
            )
        if not self.api_targets:
            raise OpsError("no API target to scrape: pass --api HOST:PORT (comma-separated for several)", code=2)
        for target in self.api_targets:
            if not _TARGET.match(target):
                raise OpsError(f"--api target {target!r} is not HOST:PORT (e.g. 127.0.0.1:5000)", code=2)
        seconds(self.scrape_interval, "--scrape-interval")
        if not re.match(r"^\d+(ms|s|m|h|d|w|y)$", self.retention):
            raise OpsError(f"observe.retention={self.retention!r} is not a Prometheus duration (e.g. 7d)", code=2)

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.host}:{self.prometheus_port}"

    @property
    def node_exporter_url(self) -> str:
        return f"http://{self.host}:{self.node_exporter_port}"


@dataclass
class ManagedProcess:
    name: str
    pid: int
    program: str
    log: str


@dataclass
class StackState:
    """What `--stop` needs to find the stack again, saved as state.json in the state folder."""

    mode: str  # "native" or "compose"
    prometheus_url: str
    processes: list[ManagedProcess] = field(default_factory=list)
    compose_argv: list[str] = field(default_factory=list)

    def save(self, state_dir: Path) -> None:
        (state_dir / STATE_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, state_dir: Path) -> "StackState | None":
        try:
            raw = json.loads((state_dir / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        raw["processes"] = [ManagedProcess(**item) for item in raw.get("processes", [])]
        return cls(**raw)


def seconds(duration: str, option: str = "duration") -> float:
    """Return a Prometheus duration such as `5s`, `500ms` or `1m` in seconds."""
    match = _DURATION.match(str(duration))
    if match is None or int(match.group(1)) == 0:
        raise OptionError(f"{option}={duration!r} is not a positive Prometheus duration such as 5s, 500ms or 1m")
    return durations.seconds(duration, option)


def render_config(
    *, api_targets: Sequence[str], node_target: str, prometheus_target: str, scrape_interval: str, rule_files: Sequence[str]
) -> dict:
    """Return observability/prometheus.yml with these targets, scrape/evaluation interval and rule files."""
    config = yaml.safe_load(BASE_CONFIG.read_text())
    config["global"]["scrape_interval"] = scrape_interval
    config["global"]["evaluation_interval"] = scrape_interval
    config["rule_files"] = list(rule_files)
    targets = {API_JOB: list(api_targets), NODE_JOB: [node_target], PROMETHEUS_JOB: [prometheus_target]}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    return config


def write_config(config: dict, path: Path) -> Path:
    """Write a rendered configuration where Prometheus will read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Rendered by `invoke observe` from observability/prometheus.yml; edit that file instead.\n" + yaml.safe_dump(config))
    return path


def prometheus_argv(program: str, *, config_path: Path, data_dir: Path, host: str, port: int, retention: str) -> list[str]:
    """Return the command that runs Prometheus on `host:port` with its storage in `data_dir`."""
    return [
        program,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir}",
        f"--storage.tsdb.retention.time={retention}",
        f"--web.listen-address={host}:{port}",
    ]


def node_exporter_argv(program: str, host: str, port: int) -> list[str]:
    """Return the command that runs node-exporter on `host:port`."""
    return [program, f"--web.listen-address={host}:{port}"]


def compose_env(options: StackOptions, config_path: Path) -> dict[str, str]:
    """Return the variables observability/docker-compose.yml reads (ports and the rendered config)."""
    return {
        "PREDIRIS_OBSERVE_PROMETHEUS_CONFIG": str(config_path),
        "PREDIRIS_OBSERVE_PROMETHEUS_PORT": str(options.prometheus_port),
        "PREDIRIS_OBSERVE_NODE_EXPORTER_PORT": str(options.node_exporter_port),
        "PREDIRIS_OBSERVE_GRAFANA_PORT": str(options.grafana_port),
    }


def compose_argv(compose: Sequence[str], project: str, *args: str) -> list[str]:
    """Return `docker compose` (or the configured equivalent) on the project's compose file."""
    return [*compose, "--project-name", project, "--file", str(COMPOSE_FILE), *args]


def render_compose_config(options: StackOptions) -> Path:
    """Write the configuration the compose Prometheus reads: node-exporter and itself by service name."""
    config = render_config(
        api_targets=options.api_targets,
        node_target="node-exporter:9100",
        prometheus_target="localhost:9090",
        scrape_interval=options.scrape_interval,
        rule_files=[COMPOSE_RULES],
    )
    return write_config(config, options.state_dir / "prometheus.yml")


def find_programs(prometheus: str, node_exporters: Sequence[str]) -> tuple[str, str] | None:
    """Return the Prometheus and node-exporter executables when both are on PATH."""
    found_prometheus = shutil.which(prometheus)
    found_node = next((path for name in node_exporters if (path := shutil.which(name))), None)
    return (found_prometheus, found_node) if found_prometheus and found_node else None


def ensure_port_free(host: str, port: int, what: str, option: str) -> None:
    """Stop with one line naming the option to change when `host:port` is taken."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise OpsError(f"port {port} on {host} is in use (another {what}?): pass {option} or set it in invoke.yaml", code=2) from None


def start_native(options: StackOptions, programs: tuple[str, str], ready_timeout: float) -> StackState:
    """Start node-exporter and Prometheus in their own sessions, wait until both answer, save the state."""
    prometheus, node_exporter = programs
    ensure_port_free(options.host, options.prometheus_port, "Prometheus", "--prometheus-port")
    ensure_port_free(options.host, options.node_exporter_port, "node-exporter", "--node-exporter-port")
    state_dir = options.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    config = render_config(
        api_targets=options.api_targets,
        node_target=f"{options.host}:{options.node_exporter_port}",
        prometheus_target=f"{options.host}:{options.prometheus_port}",
        scrape_interval=options.scrape_interval,
        rule_files=[str(RULES_DIR / "*.yml")],
    )
    config_path = write_config(config, state_dir / "prometheus.yml")
    commands = {
        "node-exporter": node_exporter_argv(node_exporter, options.host, options.node_exporter_port),
        "prometheus": prometheus_argv(
            prometheus,
            config_path=config_path,
            data_dir=state_dir / "prometheus-data",
            host=options.host,
            port=options.prometheus_port,
            retention=options.retention,
        ),
    }
    state = StackState("native", options.prometheus_url)
    started = {}
    for name, argv in commands.items():
        log_path = state_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            # A session of their own: Ctrl-C reaches only the task, which then stops them in order,
            # and a stack started with --background outlives the task.
            started[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        _CHILDREN[started[name].pid] = started[name]
        state.processes.append(ManagedProcess(name, started[name].pid, argv[0], str(log_path)))
        state.save(state_dir)
    ready_urls = {"prometheus": f"{options.prometheus_url}/-/ready", "node-exporter": f"{options.node_exporter_url}/metrics"}
    for item in state.processes:
        try:
            wait_http(ready_urls[item.name], ready_timeout, process=started[item.name])
        except OpsError as error:
            stop_native(state)
            raise OpsError(f"{item.name}: {error.message}; its log ends with: {_log_tail(item.log)}", code=1) from None
    return state


def stop_native(state: StackState, grace: float = 15.0) -> list[str]:
    """SIGTERM each process of the stack (Prometheus first, so it flushes), SIGKILL after `grace`."""
    stopped = []
    for item in sorted(state.processes, key=lambda item: item.name != "prometheus"):
        if not alive(item):
            continue
        os.kill(item.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while alive(item) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(item):
            os.kill(item.pid, signal.SIGKILL)
        stopped.append(f"{item.name} (pid {item.pid})")
    return stopped


def alive(item: ManagedProcess) -> bool:
    """Return True while the process runs and is still the program we started (pids get reused)."""
    child = _CHILDREN.get(item.pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[item.pid]
        return False
    return runs_program(item.pid, item.program)


def _log_tail(path: str, characters: int = 300) -> str:
    try:
        return " ".join(Path(path).read_text(errors="replace")[-characters:].split())
    except OSError:
        return f"(no log at {path})"
