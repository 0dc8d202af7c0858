"""`invoke perf`: a load test through Taurus (JMeter by default), with SLO gates and a report folder.

The target is the local API (reused when one answers at api.host:api.port, else started for the run
and stopped after it), any URL, or `azure`: the Container App of the `azure` section, whose replica
count is then polled through the Azure SDK and drawn in the report (also for a URL of that app, or
any URL with --watch-replicas).

Against anything but Azure, when a Prometheus answers (the one `invoke observe` runs, or --prometheus),
the KEDA ScaledObject's own query is evaluated on it at each poll, and the report draws the replicas
KEDA would ask for beside the model of the Container Apps HTTP rule.
"""

from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from invoke import task
from invoke.exceptions import Exit

from prediris_ops.core.localapi import answers, local_api
from prediris_ops.core.options import number
from prediris_ops.core.paths import ROOT
from prediris_ops.kubernetes.trigger import trigger_query
from prediris_ops.load.jmeter import default_cache_dir
from prediris_ops.load.keda import QueryWatcher
from prediris_ops.load.replicas import ReplicaWatcher, ScaleRule, count_replicas
from prediris_ops.load.run import BZT_SLO_FAILED, PerfOptions, breach_line, new_report_dir, plan_load, run_load_test
from prediris_ops.load.slo import SloOverrides
from prediris_ops.observe.prometheus_api import active_targets
from prediris_ops.observe.stack import StackState
from prediris_ops.tasks.model import ensure_model
from prediris_ops.tasks.observe import state_path

AZURE = "azure"
AZURE_APPS_DOMAIN = ".azurecontainerapps.io"


def _setting(c, value, key):
    return value if value is not None else c.perf.get(key)


def scale_rule(c) -> ScaleRule:
    """Return Azure's HTTP scale rule as deploy configures it (azure section), for the local model."""
    section = c.get("azure", {})
    return ScaleRule(
        concurrent_requests=int(section.get("concurrency_target") or 10),
        min_replicas=int(section.get("min_replicas") or 0),
        max_replicas=int(section.get("max_replicas") or 10),
    )


def is_azure_app_url(c, url: str) -> bool:
    """Return True when `url` is the configured Container App's default domain (<app>.<env>.<region>.azurecontainerapps.io)."""
    host = urlsplit(url).hostname or ""
    app = (c.get("azure", {}).get("app") or "").lower()
    return bool(app) and host.startswith(app + ".") and host.endswith(AZURE_APPS_DOMAIN)


@contextmanager
def watched_app(c):
    """Yield (app URL, ReplicaWatcher) for the configured Container App, its access checked by a first poll."""
    try:
        from prediris_ops.azure.clients import AzureClients  # noqa: PLC0415 (the deploy extra is optional)
        from prediris_ops.azure.errors import azure_errors  # noqa: PLC0415
        from prediris_ops.azure.target import target_from_config  # noqa: PLC0415
    except ImportError as error:
        raise Exit(f"watching replicas needs the Azure SDK ({error.name}): pip install -e '.[deploy]'", code=2) from None
    target = target_from_config(c)
    with azure_errors(f"Container App {target.app}"), AzureClients(target) as clients:
        url = azure_url(clients.apps, target.resource_group, target.app)

        def read() -> int:
            return count_replicas(clients.apps, target.resource_group, target.app)

        every = float(c.perf.replica_poll_seconds)
        print(f"replicas: Container App {target.app} runs {read()} now; polling every {every:g} s", flush=True)
        yield url, ReplicaWatcher(read, every)


def azure_url(client, resource_group: str, app: str) -> str:
    """Return the public URL of the Container App (https:// and its ingress FQDN)."""
    found = client.container_apps.get(resource_group, app)
    ingress = found.configuration.ingress if found.configuration else None
    if ingress is None or not ingress.fqdn:
        raise Exit(f"Container App {app} has no ingress FQDN: deploy it with `invoke deploy` first", code=2)
    return f"https://{ingress.fqdn}"


def keda_watcher(c, prometheus: str | None, target: str) -> QueryWatcher | None:
    """Return a watcher of the ScaledObject's query on --prometheus (a cluster's, say), else on the Prometheus
    `invoke observe` runs when it scrapes the target; None when there is neither."""
    if prometheus is not None:
        url = prometheus.rstrip("/")
        if not answers(url + "/-/ready"):
            raise Exit(f"--prometheus {url} does not answer /-/ready: start it with `invoke observe --background`", code=2)
    else:
        state = StackState.load(state_path(c))
        if state is None or not answers(state.prometheus_url + "/-/ready"):
            return None
        url = state.prometheus_url
        if not any(item["scrapeUrl"].startswith(target + "/") for item in active_targets(url)):
            print(f"KEDA: no line: {url} does not scrape {target} (`invoke observe --api {urlsplit(target).netloc}` does)", flush=True)
            return None
    every = float(c.perf.replica_poll_seconds)
    watcher = QueryWatcher(url, trigger_query(), every)
    print(f"KEDA: evaluating the ScaledObject's query on {watcher.prometheus_url} every {every:g} s: {watcher.query}", flush=True)
    return watcher


@contextmanager
def target_api(c, target: str | None, report_dir: Path, watch_replicas: bool = False):
    """Yield (base URL, replica watcher or None); start a local API when none answers, stop it after."""
    if target == AZURE or (target and is_azure_app_url(c, target)) or watch_replicas:
        with watched_app(c) as (app_url, watcher), _plain_target(c, None if target == AZURE else target, report_dir, app_url) as url:
            yield url, watcher
        return
    with _plain_target(c, target, report_dir) as url:
        yield url, None


@contextmanager
def _plain_target(c, target: str | None, report_dir: Path, default: str | None = None):
    if target or default:
        yield (target or default).rstrip("/")
        return
    running = f"http://{c.api.host}:{c.api.port}"
    if answers(running + "/health/ready"):
        print(f"target: the API already running at {running}", flush=True)
        yield running
        return
    ensure_model(c)
    settings = {"threads": c.api.threads} if c.api.get("threads") else {}
    with local_api(c.model.dir, report_dir / "api.log", host=str(c.api.host), settings=settings) as api:
        print(
            f"target: started the API at {api.base_url} for this run (pid {api.pid}, log {api.log_path}); it stops afterwards", flush=True
        )
        yield api.base_url


@task(
    help={
        "concurrency": "Concurrent users (default: the profile's, perf/<scenario>.yml).",
        "target": "What to load: a base URL, `azure` (the deployed Container App; replicas are watched), "
        "or nothing: the API at api.host:api.port, started for the run if it does not answer.",
        "ramp-up": "Seconds to reach full concurrency (default: the profile's).",
        "hold": "Seconds to hold full concurrency (default: the profile's).",
        "scenario": "Load profile in perf/: predict (default) or stress (steps concurrency up to find the knee).",
        "executor": "Load generator: jmeter (default) or locust (lighter on small machines).",
        "max-error-percent": "SLO: highest error ratio in % over a window (default: the profile's).",
        "max-p95-ms": "SLO: highest p95 latency in ms over a window (default: the profile's).",
        "max-p99-ms": "SLO: highest p99 latency in ms over a window (default: the profile's).",
        "slo-window": "SLO: window length in seconds (default: the profile's).",
        "watch-replicas": "Poll the configured Container App's replicas even when the target URL is not its own "
        "(a custom domain, a front door); implied by --target azure.",
        "prometheus": "Prometheus to evaluate the KEDA ScaledObject's query on (default: the one `invoke observe` runs, "
        "when it scrapes the target).",
    }
)
def perf(
    c,
    *,
    concurrency=None,
    target=None,
    ramp_up=None,
    hold=None,
    scenario=None,
    executor=None,
    max_error_percent=None,
    max_p95_ms=None,
    max_p99_ms=None,
    slo_window=None,
    watch_replicas=False,
    prometheus=None,
):
    """Load-test the API through Taurus; print progress, a summary and the SLO verdict; write build/perf/<time>/."""
    options = PerfOptions(
        root=ROOT,
        profile=str(_setting(c, scenario, "scenario")),
        executor=str(_setting(c, executor, "executor")),
        target="",
        report_dir=Path(),
        concurrency=number(_setting(c, concurrency, "concurrency"), int, "concurrency"),
        ramp_up_seconds=number(_setting(c, ramp_up, "ramp_up"), int, "ramp-up"),
        hold_seconds=number(_setting(c, hold, "hold"), int, "hold"),
        slo=SloOverrides(
            max_error_percent=number(_setting(c, max_error_percent, "max_error_percent"), float, "max-error-percent"),
            max_p95_ms=number(_setting(c, max_p95_ms, "max_p95_ms"), float, "max-p95-ms"),
            max_p99_ms=number(_setting(c, max_p99_ms, "max_p99_ms"), float, "max-p99-ms"),
            window_seconds=number(_setting(c, slo_window, "slo_window"), int, "slo-window"),
        ),
        jmeter_home=c.perf.get("jmeter_home"),
        jmeter_cache=Path(c.perf.jmeter_cache).expanduser() if c.perf.get("jmeter_cache") else default_cache_dir(),
        progress_every=float(c.perf.progress_every),
        rule=scale_rule(c),
    )
    plan_load(options)  # a bad profile or option stops here, before a folder or a server exists
    reports = Path(c.perf.reports)
    options.report_dir = new_report_dir(reports if reports.is_absolute() else ROOT / reports)
    with target_api(c, _setting(c, target, "target"), options.report_dir, watch_replicas) as (url, watcher):
        options.target, options.watcher = url, watcher
        # The local Prometheus sees only local APIs: no KEDA line for a Container App under load.
        options.keda = keda_watcher(c, prometheus, url) if watcher is None else None
        report = run_load_test(c, options)
    if not report.passed:
        # bzt's own status for a breach (3): CI can tell a breached SLO from a broken run.
        raise Exit(breach_line(report, options.report_dir), code=BZT_SLO_FAILED)
