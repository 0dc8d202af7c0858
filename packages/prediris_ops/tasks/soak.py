"""`invoke soak`: steady load on one local server for a long time; fail unless it stays clean and flat."""

from pathlib import Path

from invoke.exceptions import Exit

from prediris_ops.core.durations import seconds
from prediris_ops.core.localapi import local_api
from prediris_ops.core.model import ensure_model
from prediris_ops.core.options import number
from prediris_ops.load.soak import SoakPlan, run_soak, write_summary
from prediris_ops.tasks.exits import task


def soak_plan(c, *, duration=None, connections=None, rate=None, sample_every=None, max_rss_growth_mb=None) -> SoakPlan:
    """Return the plan from the task's options, falling back to the `soak` section of invoke.yaml."""
    config = c.soak
    growth = max_rss_growth_mb if max_rss_growth_mb is not None else config.max_rss_growth_mb
    return SoakPlan(
        duration=seconds(duration if duration is not None else config.duration, "--duration", positive=True),
        connections=number(connections or config.connections, int, "connections"),
        rate=number(rate or config.rate, float, "rate"),
        sample_every=seconds(sample_every if sample_every is not None else config.sample_every, "--sample-every", positive=True),
        warmup_fraction=float(config.warmup_fraction),
        max_rss_growth_mb=number(growth, float, "max-rss-growth-mb"),
    )


@task(
    help={
        "duration": "How long to load the server: 30s, 10m, 1h, or seconds (default: soak.duration, 10m).",
        "connections": "Keep-alive client connections (default: soak.connections).",
        "rate": "Total requests per second, held steady (default: soak.rate).",
        "sample-every": "How often to sample the server's memory and threads: 5s, or seconds (default: soak.sample_every).",
        "max-rss-growth-mb": "Resident memory growth allowed after warm-up, MiB (default: soak.max_rss_growth_mb).",
        "model-dir": "Model folder (default: model.dir); trained first if it holds no verified model.",
    }
)
def soak(c, duration=None, connections=None, rate=None, sample_every=None, max_rss_growth_mb=None, model_dir=None):
    """Serve the model locally under steady load; fail on any error, growing memory or threads, or miscounted metrics."""
    plan = soak_plan(
        c, duration=duration, connections=connections, rate=rate, sample_every=sample_every, max_rss_growth_mb=max_rss_growth_mb
    )
    directory = model_dir or c.model.dir
    ensure_model(c.model, directory)
    report_dir = Path(c.soak.reports)
    print(
        f"soak: {plan.duration:.0f} s at {plan.rate:.0f} req/s over {plan.connections} connections, sampled every {plan.sample_every:g} s"
    )
    with local_api(directory, report_dir / "server.log") as api:

        def progress(sample):
            print(f"  {sample.elapsed:7.1f} s  RSS {sample.rss_kib / 1024:7.1f} MiB  threads {sample.threads}", flush=True)

        report = run_soak(api.base_url, api.pid, plan, progress=progress)
    for line in report.lines():
        print(line)
    write_summary(report, report_dir / "soak.json")
    if not report.passed:
        raise Exit(f"soak failed: {'; '.join(report.failures)} (details in {report_dir / 'soak.json'})", code=1)
