"""`invoke perf`: a load test through Taurus (JMeter by default), with SLO gates and a report folder.

The target is the local API (reused when one answers where `invoke up` serves, else started for the run
and stopped after it), any URL, or `azure`: the Container App of the `azure` section, whose replica
count is then polled through the Azure SDK and drawn in the report (also for a URL of that app, or
any URL with --watch-replicas).

Against anything but Azure, when a Prometheus answers (the one `invoke observe` runs, or --prometheus),
the KEDA ScaledObject's own query is evaluated on it at each poll, and the report draws the replicas
KEDA would ask for beside the model of the Container Apps HTTP rule.
"""

from pathlib import Path

from invoke.exceptions import Exit

from prediris_ops.core.durations import seconds
from prediris_ops.core.options import number
from prediris_ops.core.paths import ROOT
from prediris_ops.tasks.exits import task
from prediris_ops.tasks.extras import extra


def _setting(c, value, key):
    return value if value is not None else c.perf.get(key)


def _duration(value, flag: str) -> int | None:
    """Return whole seconds from `30s`, `1m`, `90`... (Taurus's forms), None for None."""
    return None if value is None else int(seconds(value, flag))


@task(
    help={
        "concurrency": "Concurrent users (default: the profile's, perf/<scenario>.yml).",
        "target": "What to load: a base URL, `azure` (the deployed Container App; replicas are watched), "
        "or nothing: the API where `invoke up` serves (PREDIRIS_HOST/PREDIRIS_PORT, else api.host:api.port), "
        "started for the run if it does not answer.",
        "ramp-up": "How long to reach full concurrency: 30s, 1m, or seconds (default: the profile's).",
        "hold": "How long to hold full concurrency: 30s, 1m, or seconds (default: the profile's).",
        "scenario": "Load profile in perf/: predict (default) or stress (steps concurrency up to find the knee).",
        "max-error-percent": "SLO: highest error ratio in % over a window (default: the profile's).",
        "max-p95-ms": "SLO: highest p95 latency in ms over a window (default: the profile's).",
        "max-p99-ms": "SLO: highest p99 latency in ms over a window (default: the profile's).",
        "slo-window": "SLO: window length: 10s, 1m, or seconds (default: the profile's).",
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
    max_error_percent=None,
    max_p95_ms=None,
    max_p99_ms=None,
    slo_window=None,
    watch_replicas=False,
    prometheus=None,
):
    """Load-test the API through Taurus; print progress, a summary and the SLO verdict; write build/perf/<time>/."""
    with extra("perf"):
        from prediris_ops.load.jmeter import default_cache_dir
        from prediris_ops.load.keda import keda_watcher
        from prediris_ops.load.run import BZT_SLO_FAILED, PerfOptions, breach_line, new_report_dir, plan_load, run_load_test
        from prediris_ops.load.slo import SloOverrides
        from prediris_ops.load.target import scale_rule, target_api
    options = PerfOptions(
        root=ROOT,
        profile=str(_setting(c, scenario, "scenario")),
        executor="jmeter",
        target="",
        report_dir=Path(),
        concurrency=number(_setting(c, concurrency, "concurrency"), int, "concurrency"),
        ramp_up_seconds=_duration(_setting(c, ramp_up, "ramp_up"), "--ramp-up"),
        hold_seconds=_duration(_setting(c, hold, "hold"), "--hold"),
        slo=SloOverrides(
            max_error_percent=number(_setting(c, max_error_percent, "max_error_percent"), float, "max-error-percent"),
            max_p95_ms=number(_setting(c, max_p95_ms, "max_p95_ms"), float, "max-p95-ms"),
            max_p99_ms=number(_setting(c, max_p99_ms, "max_p99_ms"), float, "max-p99-ms"),
            window_seconds=_duration(_setting(c, slo_window, "slo_window"), "--slo-window"),
        ),
        jmeter_home=c.perf.get("jmeter_home"),
        jmeter_cache=Path(c.perf.jmeter_cache).expanduser() if c.perf.get("jmeter_cache") else default_cache_dir(),
        progress_every=float(c.perf.progress_every),
        rule=scale_rule(c.config),
    )
    plan_load(options)  # a bad profile or option stops here, before a folder or a server exists
    reports = Path(c.perf.reports)
    options.report_dir = new_report_dir(reports if reports.is_absolute() else ROOT / reports)
    with target_api(c.config, _setting(c, target, "target"), options.report_dir, watch_replicas) as (url, watcher):
        options.target, options.watcher = url, watcher
        # The local Prometheus sees only local APIs: no KEDA line for a Container App under load.
        options.keda = keda_watcher(c.config, prometheus, url) if watcher is None else None
        report = run_load_test(c, options)
    if not report.passed:
        # bzt's own status for a breach (3): CI can tell a breached SLO from a broken run.
        raise Exit(breach_line(report, options.report_dir), code=BZT_SLO_FAILED)
