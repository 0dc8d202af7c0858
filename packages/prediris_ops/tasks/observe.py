"""`invoke observe`: Prometheus and node-exporter scraping the local API, until Ctrl-C or `--stop`."""

import shlex
import shutil
import signal
import time
import urllib.parse
from pathlib import Path

from invoke import task
from invoke.exceptions import Exit

from prediris_ops.core.processes import run_in, wait_http
from prediris_ops.observe import prometheus_api, stack

# The query a user runs first: their API's request rate by route and status.
FIRST_QUERY = "sum by (route, status) (rate(prediris_http_requests_total[1m]))"


def stack_options(
    c, *, api=None, prometheus_port=None, node_exporter_port=None, grafana_port=None, scrape_interval=None, state_dir=None, compose=False
):
    """Return the stack's options: task flags first, then the observe section of invoke.yaml."""
    cfg = c.observe
    api_host = "127.0.0.1" if c.api.host in ("0.0.0.0", "::") else c.api.host
    # From a container the host's API is host.docker.internal (see docker-compose.yml's extra_hosts).
    default_target = f"{'host.docker.internal' if compose else api_host}:{c.api.port}"
    targets = api or cfg.get("api_targets") or default_target
    try:
        options = stack.StackOptions(
            state_dir=state_path(c, state_dir),
            api_targets=tuple(target.strip() for target in str(targets).split(",") if target.strip()),
            prometheus_port=int(prometheus_port or cfg.prometheus_port),
            node_exporter_port=int(node_exporter_port or cfg.node_exporter_port),
            grafana_port=int(grafana_port or cfg.grafana_port),
            scrape_interval=str(scrape_interval or cfg.scrape_interval),
            retention=str(cfg.retention),
        )
    except ValueError as error:
        raise Exit(f"a port option is not an integer ({error})", code=2) from None
    options.check()
    return options


def state_path(c, state_dir=None) -> Path:
    """Return the state folder; a relative one is under the project root, wherever invoke runs."""
    directory = Path(state_dir or c.observe.state_dir)
    return directory if directory.is_absolute() else stack.ROOT / directory


def shown(path: Path) -> str:
    """Return `path` relative to the project root when it is inside it (as invoke.yaml spells it)."""
    return str(path.relative_to(stack.ROOT)) if path.is_relative_to(stack.ROOT) else str(path)


def compose_command(c) -> list[str]:
    """Return `docker compose` as configured: observe.compose, else docker.executable + compose."""
    configured = c.observe.get("compose")
    if configured:
        return [configured] if isinstance(configured, str) else list(configured)
    return [c.get("docker", {}).get("executable") or "docker", "compose"]


@task(
    help={
        "api": "API target(s) to scrape, HOST:PORT, comma-separated (default: api.host:api.port).",
        "prometheus-port": "Port of Prometheus's UI and API (default: observe.prometheus_port, 9090).",
        "node-exporter-port": "Port of node-exporter (default: observe.node_exporter_port, 9100).",
        "grafana-port": "Port of Grafana, docker compose only (default: observe.grafana_port, 3000).",
        "scrape-interval": "How often to scrape and evaluate rules, e.g. 5s (default: observe.scrape_interval).",
        "state-dir": "Rendered config, storage, logs and state (default: observe.state_dir, build/observe).",
        "background": "Leave the stack running and return; stop it later with --stop.",
        "stop": "Stop the stack a previous `invoke observe --background` started.",
        "docker": "Use docker compose (adds Grafana) even when the native binaries are on PATH.",
    }
)
def observe(
    c,
    *,
    api=None,
    prometheus_port=None,
    node_exporter_port=None,
    grafana_port=None,
    scrape_interval=None,
    state_dir=None,
    background=False,
    stop=False,
    docker=False,
):
    """Run Prometheus + node-exporter (native, else docker compose) on the local API; print the URLs."""
    if stop:
        stop_stack(c, state_path(c, state_dir))
        return
    programs = None if docker else stack.find_programs(c.observe.prometheus, c.observe.node_exporter)
    compose = programs is None
    options = stack_options(
        c,
        api=api,
        prometheus_port=prometheus_port,
        node_exporter_port=node_exporter_port,
        grafana_port=grafana_port,
        scrape_interval=scrape_interval,
        state_dir=state_dir,
        compose=compose,
    )
    refuse_second_stack(options.state_dir)
    if compose:
        state = start_compose(c, options)
    else:
        print(f"observe: {programs[0]} and {programs[1]}, natively; state in {shown(options.state_dir)}", flush=True)
        state = stack.start_native(options, programs, float(c.observe.ready_timeout))
    try:
        report(options, compose)
    except BaseException:
        # Ctrl-C or a failure before the URLs are out: leave nothing running behind.
        stop_stack(c, options.state_dir)
        raise
    if background:
        print("running in the background: stop it with `invoke observe --stop`", flush=True)
        return
    print("Ctrl-C stops the stack.", flush=True)
    try:
        wait_until_interrupted(state)
    finally:
        stop_stack(c, options.state_dir)


def start_compose(c, options: stack.StackOptions) -> stack.StackState:
    """Start the compose project detached, wait for Prometheus, save the state."""
    command = compose_command(c)
    if shutil.which(command[0]) is None:
        raise Exit(
            "neither prometheus + prometheus-node-exporter nor docker are on PATH: "
            "`apt-get install prometheus prometheus-node-exporter` (Debian), or install Docker with its compose plugin",
            code=2,
        )
    project = c.observe.compose_project
    config_path = stack.render_compose_config(options)
    print(f"observe: {' '.join(command)} (no native prometheus + node-exporter on PATH); state in {shown(options.state_dir)}", flush=True)
    state = stack.StackState("compose", options.prometheus_url, compose_argv=stack.compose_argv(command, project))
    run_in(c, stack.compose_argv(command, project, "up", "--detach"), env=stack.compose_env(options, config_path))
    state.save(options.state_dir)
    try:
        wait_http(f"{options.prometheus_url}/-/ready", float(c.observe.ready_timeout))
    except Exit as error:
        logs = shlex.join(stack.compose_argv(command, project, "logs", "prometheus"))
        raise Exit(f"{error.message}: read `{logs}`, then `invoke observe --stop`", code=1) from None
    return state


def refuse_second_stack(state_dir: Path) -> None:
    """Stop with one line when a stack from an earlier `--background` is still running."""
    state = stack.StackState.load(state_dir)
    if state is None:
        return
    if state.mode == "compose" or any(stack.alive(item) for item in state.processes):
        raise Exit(
            f"a stack started by `invoke observe --background` is running ({state.prometheus_url}): stop it with `invoke observe --stop`",
            code=1,
        )
    (state_dir / stack.STATE_FILE).unlink()


def stop_stack(c, state_dir: Path) -> None:
    """Stop what state.json describes (processes or compose project) and forget it."""
    state = stack.StackState.load(state_dir)
    if state is None:
        print(f"observe: no stack recorded in {shown(state_dir)}; nothing to stop")
        return
    if state.mode == "compose":
        run_in(c, [*state.compose_argv, "down"])
        stopped = ["the compose project"]
    else:
        stopped = stack.stop_native(state)
    (state_dir / stack.STATE_FILE).unlink(missing_ok=True)
    print(f"observe: stopped {', '.join(stopped) if stopped else 'nothing (already gone)'}", flush=True)


def report(options: stack.StackOptions, compose: bool) -> None:
    """Print the URLs and how each target answered its first scrape."""
    prometheus = options.prometheus_url
    graph = f"{prometheus}/graph?{urllib.parse.urlencode({'g0.expr': FIRST_QUERY, 'g0.tab': '0', 'g0.range_input': '15m'})}"
    print(f"  Prometheus     {prometheus}  (targets {prometheus}/targets, alerts {prometheus}/alerts)")
    print(f"  node-exporter  {options.node_exporter_url}/metrics")
    if compose:
        print(f"  Grafana        http://{options.host}:{options.grafana_port}/d/prediris  (dashboard 'prediris', anonymous viewer)")
    print(f"  scraping every {options.scrape_interval}; storage, logs and rendered config in {shown(options.state_dir)}")
    print("targets after their first scrape:")
    for target in prometheus_api.scraped_targets(
        prometheus, len(options.api_targets) + 2, timeout=2 * stack.seconds(options.scrape_interval) + 10
    ):
        line = f"  {target['health']:<7} {target['labels']['job']:<11} {target['scrapeUrl']}"
        if target["health"] != "up":
            hint = " — start the API with `invoke up`" if target["labels"]["job"] == stack.API_JOB else ""
            line += f"  ({target.get('lastError') or 'not scraped yet'}){hint}"
        print(line)
    print(f"your API's traffic: {graph}", flush=True)


def wait_until_interrupted(state: stack.StackState) -> None:
    """Sleep until Ctrl-C or SIGTERM; stop early, naming the log, if a native process dies."""
    # Our own handlers: a task started in the background of a shell inherits SIGINT ignored.
    previous = {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            dead = [item for item in state.processes if not stack.alive(item)]
            if dead:
                raise Exit(f"{dead[0].name} stopped unexpectedly; see {dead[0].log}", code=1)
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nobserve: stopping", flush=True)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
