"""`invoke observe`: Prometheus and node-exporter scraping the local API, until Ctrl-C or `--stop`."""

from functools import partial

from prediris_ops.core.processes import run_in
from prediris_ops.observe import session, stack
from prediris_ops.tasks.exits import task


@task(
    help={
        "api": "API target(s) to scrape, HOST:PORT, comma-separated (default: where `invoke up` serves).",
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
    run = partial(run_in, c)
    if stop:
        session.stop_stack(session.state_path(c.config, state_dir), run)
        return
    programs = None if docker else stack.find_programs(c.observe.prometheus, c.observe.node_exporter)
    compose = programs is None
    options = session.stack_options(
        c.config,
        api=api,
        prometheus_port=prometheus_port,
        node_exporter_port=node_exporter_port,
        grafana_port=grafana_port,
        scrape_interval=scrape_interval,
        state_dir=state_dir,
        compose=compose,
    )
    session.refuse_second_stack(options.state_dir)
    if programs is None:
        state = session.start_compose(c.config, options, run)
    else:
        session.say_now(f"observe: {programs[0]} and {programs[1]}, natively; state in {session.shown(options.state_dir)}")
        state = stack.start_native(options, programs, float(c.observe.ready_timeout))
    try:
        session.report(options, compose)
    except BaseException:
        # Ctrl-C or a failure before the URLs are out: leave nothing running behind.
        session.stop_stack(options.state_dir, run)
        raise
    if background:
        session.say_now("running in the background: stop it with `invoke observe --stop`")
        return
    session.say_now("Ctrl-C stops the stack.")
    try:
        session.wait_until_interrupted(state)
    finally:
        session.stop_stack(options.state_dir, run)
