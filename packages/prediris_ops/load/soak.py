"""The soak test: steady load on one real server for a long time, then a verdict.

Steady load at a fixed rate over keep-alive connections (loadgen.py) while the server's resident
memory and thread count are sampled (psutil). The run passes when the clients saw no error
(no failure, only 200s), memory stayed flat after warm-up, the thread count never changed, and
the server's own /metrics counters equal the clients' counts exactly.
"""

import json
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from prediris_ops.core.processes import process_usage
from prediris_ops.load.loadgen import LoadResult, generate_load

# Threads the server may add under load without it counting as a leak (see judge).
THREAD_SLACK = 8


@dataclass(frozen=True)
class SoakPlan:
    duration: float
    connections: int = 16
    rate: float = 200.0
    sample_every: float = 5.0
    # The first part of the run, when caches and allocator arenas fill, is not judged for flatness.
    warmup_fraction: float = 0.2
    max_rss_growth_mb: float = 10.0


@dataclass(frozen=True)
class Sample:
    elapsed: float
    rss_kib: int
    threads: int


@dataclass
class SoakReport:
    plan: SoakPlan
    load: LoadResult
    samples: list[Sample]
    server: dict[str, float]
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def judged(self) -> list[Sample]:
        """Return the samples taken after warm-up."""
        start = self.plan.duration * self.plan.warmup_fraction
        return [sample for sample in self.samples if sample.elapsed >= start] or self.samples[-1:]

    def lines(self) -> list[str]:
        """Describe the run: load, memory and threads over time, counters, verdict."""
        judged = self.judged()
        rss = [sample.rss_kib for sample in judged]
        lines = [f"soak {self.plan.duration:.0f} s at {self.plan.rate:.0f} req/s over {self.plan.connections} connections"]
        lines.append(f"  clients: {self.load.summary()}")
        if rss:
            lines.append(
                f"  after warm-up: RSS {rss[0] / 1024:.1f} → {rss[-1] / 1024:.1f} MiB (max {max(rss) / 1024:.1f}), "
                f"threads {sorted({sample.threads for sample in judged})}, {len(judged)} samples"
            )
        lines.append(
            "  server counted: "
            + ", ".join(f"{name} {value:.0f}" for name, value in sorted(self.server.items()))
            + f"; clients: 200 {self.load.statuses.get(200, 0)}, 503 {self.load.statuses.get(503, 0)}"
        )
        lines += [f"  FAIL {failure}" for failure in self.failures] or ["  PASS: no error, flat memory and threads, counters equal"]
        return lines


def process_sample(pid: int, elapsed: float) -> Sample:
    """Read a process's resident memory and thread count."""
    usage = process_usage(pid)
    return Sample(elapsed, usage.rss_kib, usage.threads)


def prediction_counters(base_url: str, timeout: float = 10.0) -> dict[str, float]:
    """Return the server's counts of POST /predict replies by status, and of shed requests."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=timeout) as response:
        text = response.read().decode()
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "prediris_http_requests_total" and labels.get("route") == "/predict" and labels.get("method") == "POST":
                key = f"http {labels['status']}"
            elif sample.name == "prediris_shed_requests_total":
                key = f"shed {labels['reason']}"
            else:
                continue
            counts[key] = counts.get(key, 0.0) + sample.value
    return counts


def judge(plan: SoakPlan, load: LoadResult, samples: list[Sample], server: dict[str, float]) -> list[str]:
    """Return what went wrong, one sentence each (empty: the soak passed)."""
    failures = []
    if load.failures:
        failures.append(f"client failures: {dict(load.failures)}")
    others = {status: count for status, count in load.statuses.items() if status != 200}
    if others:
        failures.append(f"replies other than 200: {others}")
    if not load.statuses.get(200):
        failures.append("no request succeeded")
    report = SoakReport(plan, load, samples, server)
    judged = report.judged()
    if judged:
        growth = (max(sample.rss_kib for sample in judged) - judged[0].rss_kib) / 1024
        if growth > plan.max_rss_growth_mb:
            failures.append(f"resident memory grew by {growth:.1f} MiB after warm-up (allowed {plan.max_rss_growth_mb:g})")
        threads = sorted({sample.threads for sample in judged})
        # The server's thread pool grows and shrinks with the load (granian's blocking threads): a leak is
        # a count that keeps climbing, not one that moves by a few.
        if threads and threads[-1] - threads[0] > THREAD_SLACK:
            failures.append(f"the thread count grew by more than {THREAD_SLACK}: {threads}")
    else:
        failures.append("no memory sample was taken")
    served = server.get("http 200", 0.0)
    if served != load.statuses.get(200, 0):
        failures.append(f"/metrics counted {served:.0f} successful predictions, the clients {load.statuses.get(200, 0)}")
    answered = sum(value for key, value in server.items() if key != "http 200")
    if answered != sum(others.values()):
        failures.append(f"/metrics counted {answered:.0f} other replies, the clients {sum(others.values())}")
    return failures


def run_soak(base_url: str, pid: int, plan: SoakPlan, *, progress=None) -> SoakReport:
    """Load `base_url` steadily for the plan's duration while sampling process `pid`; judge the run."""
    samples: list[Sample] = []
    done = threading.Event()
    started = time.monotonic()

    def sample_until_done() -> None:
        while True:
            sample = process_sample(pid, time.monotonic() - started)
            samples.append(sample)
            if progress is not None:
                progress(sample)
            if done.wait(plan.sample_every):
                return

    sampler = threading.Thread(target=sample_until_done, name="soak-sampler", daemon=True)
    sampler.start()
    try:
        load = generate_load(base_url, connections=plan.connections, duration=plan.duration, rate=plan.rate)
    finally:
        done.set()
        sampler.join()
    samples.append(process_sample(pid, time.monotonic() - started))
    server = prediction_counters(base_url)
    return SoakReport(plan, load, samples, server, judge(plan, load, samples, server))


def write_summary(report: SoakReport, path: Path) -> Path:
    """Write the run as JSON: plan, client statuses and failures, latency, samples, server counts, verdict."""
    summary = {
        "plan": asdict(report.plan),
        "statuses": dict(report.load.statuses),
        "failures": dict(report.load.failures),
        "p50_ms": report.load.percentile(200, 0.5) * 1000,
        "p99_ms": report.load.percentile(200, 0.99) * 1000,
        "samples": [asdict(sample) for sample in report.samples],
        "server": report.server,
        "verdict": report.failures or "pass",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
