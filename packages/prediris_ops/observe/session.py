"""One `invoke observe` session: its options from configuration, starting the stack (native or
compose), reporting the URLs and first scrapes, waiting for Ctrl-C, and stopping what it started.

Compose commands go through `run(argv, env=...)`, given by the task (an invoke context runs them,
so the task's tests can assert the exact commands).
"""

import shlex
import shutil
import signal
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

from prediris_ops.core.apiconfig import api_settings
from prediris_ops.core.errors import OpsError, OptionError
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import wait_http
from prediris_ops.observe import prometheus_api, stack

# The query a user runs first: their API's request rate by route and status.
FIRST_QUERY = "sum by (route, status) (rate(prediris_http_requests_total[1m]))"

Run = Callable[..., object]


def say_now(line: str) -> None:
    """Print a line at once (the stack runs for long; its output must not wait in a buffer)."""
    print(line, flush=True)


def stack_options(
    config: Mapping,
    *,
    api=None,
    prometheus_port=None,
    node_exporter_port=None,
    grafana_port=None,
    scrape_interval=None,
    state_dir=None,
    compose=False,
) -> stack.StackOptions:
    """Return the stack's options: task flags first, then the observe section of invoke.yaml."""
    cfg = config["observe"]
    local = api_settings(config)
    api_host = "127.0.0.1" if local.host in ("0.0.0.0", "::") else local.host
    # From a container the host's API is host.docker.internal (see docker-compose.yml's extra_hosts).
    # /metrics is on the metrics port when one is configured, else on the API port.
    default_target = f"{'host.docker.internal' if compose else api_host}:{local.scrape_port}"
    targets = api or cfg.get("api_targets") or default_target
    try:
        options = stack.StackOptions(
            state_dir=state_path(config, state_dir),
            api_targets=tuple(target.strip() for target in str(targets).split(",") if target.strip()),
            prometheus_port=int(prometheus_port or cfg["prometheus_port"]),
            node_exporter_port=int(node_exporter_port or cfg["node_exporter_port"]),
            grafana_port=int(grafana_port or cfg["grafana_port"]),
            scrape_interval=str(scrape_interval or cfg["scrape_interval"]),
            retention=str(cfg["retention"]),
        )
    except ValueError as error:
        raise OptionError(f"a port option is not an integer ({error})") from None
    options.check()
    return options


def state_path(config: Mapping, state_dir=None) -> Path:
    """Return the state folder; a relative one is under the project root, wherever invoke runs."""
    directory = Path(state_dir or config["observe"]["state_dir"])
    return directory if directory.is_absolute() else ROOT / directory


def shown(path: Path) -> str:
    """Return `path` relative to the project root when it is inside it (as invoke.yaml spells it)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def compose_command(config: Mapping) -> list[str]:
    """Return `docker compose` as configured: observe.compose, else docker.executable + compose."""
    configured = config["observe"].get("compose")
    if configured:
        return [configured] if isinstance(configured, str) else list(configured)
    return [config.get("docker", {}).get("executable") or "docker", "compose"]


def start_compose(config: Mapping, options: stack.StackOptions, run: Run, say: Callable[[str], None] = say_now) -> stack.StackState:
    """Start the compose project detached, wait for Prometheus, save the state."""
    command = compose_command(config)
    if shutil.which(command[0]) is None:
        raise OptionError(
            "neither prometheus + prometheus-node-exporter nor docker are on PATH: "
            "`apt-get install prometheus prometheus-node-exporter` (Debian), or install Docker with its compose plugin"
        )
    project = config["observe"]["compose_project"]
    config_path = stack.render_compose_config(options)
    say(f"observe: {' '.join(command)} (no native prometheus + node-exporter on PATH); state in {shown(options.state_dir)}")
    state = stack.StackState("compose", options.prometheus_url, compose_argv=stack.compose_argv(command, project))
    run(stack.compose_argv(command, project, "up", "--detach"), env=stack.compose_env(options, config_path))
    state.save(options.state_dir)
    try:
        wait_http(f"{options.prometheus_url}/-/ready", float(config["observe"]["ready_timeout"]))
    except OpsError as error:
        logs = shlex.join(stack.compose_argv(command, project, "logs", "prometheus"))
        raise OpsError(f"{error.message}: read `{logs}`, then `invoke observe --stop`") from None
    return state


def refuse_second_stack(state_dir: Path) -> None:
    """Stop with one line when a stack from an earlier `--background` is still running."""
    state = stack.StackState.load(state_dir)
    if state is None:
        return
    if state.mode == "compose" or any(stack.alive(item) for item in state.processes):
        raise OpsError(
            f"a stack started by `invoke observe --background` is running ({state.prometheus_url}): stop it with `invoke observe --stop`"
        )
    (state_dir / stack.STATE_FILE).unlink()


def stop_stack(state_dir: Path, run: Run, say: Callable[[str], None] = say_now) -> None:
    """Stop what state.json describes (processes or compose project) and forget it."""
    state = stack.StackState.load(state_dir)
    if state is None:
        say(f"observe: no stack recorded in {shown(state_dir)}; nothing to stop")
        return
    if state.mode == "compose":
        run([*state.compose_argv, "down"])
        stopped = ["the compose project"]
    else:
        stopped = stack.stop_native(state)
    (state_dir / stack.STATE_FILE).unlink(missing_ok=True)
    say(f"observe: stopped {', '.join(stopped) if stopped else 'nothing (already gone)'}")


def report(options: stack.StackOptions, compose: bool, say: Callable[[str], None] = say_now) -> None:
    """Print the URLs and how each target answered its first scrape."""
    prometheus = options.prometheus_url
    graph = f"{prometheus}/graph?{urllib.parse.urlencode({'g0.expr': FIRST_QUERY, 'g0.tab': '0', 'g0.range_input': '15m'})}"
    say(f"  Prometheus     {prometheus}  (targets {prometheus}/targets, alerts {prometheus}/alerts)")
    say(f"  node-exporter  {options.node_exporter_url}/metrics")
    if compose:
        say(f"  Grafana        http://{options.host}:{options.grafana_port}/d/prediris  (dashboard 'prediris', anonymous viewer)")
    say(f"  scraping every {options.scrape_interval}; storage, logs and rendered config in {shown(options.state_dir)}")
    say("targets after their first scrape:")
    for target in prometheus_api.scraped_targets(
        prometheus, len(options.api_targets) + 2, timeout=2 * stack.seconds(options.scrape_interval) + 10
    ):
        line = f"  {target['health']:<7} {target['labels']['job']:<11} {target['scrapeUrl']}"
        if target["health"] != "up":
            hint = " — start the API with `invoke up`" if target["labels"]["job"] == stack.API_JOB else ""
            line += f"  ({target.get('lastError') or 'not scraped yet'}){hint}"
        say(line)
    say(f"your API's traffic: {graph}")


def wait_until_interrupted(state: stack.StackState, say: Callable[[str], None] = say_now) -> None:
    """Sleep until Ctrl-C or SIGTERM; stop early, naming the log, if a native process dies."""
    # Our own handlers: a task started in the background of a shell inherits SIGINT ignored.
    previous = {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            dead = [item for item in state.processes if not stack.alive(item)]
            if dead:
                raise OpsError(f"{dead[0].name} stopped unexpectedly; see {dead[0].log}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("\nobserve: stopping")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
