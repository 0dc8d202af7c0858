"""Judge a canary revision: it takes PERCENT of the traffic for a window, and is promoted or rolled back.

Two signals, read every `check_every` seconds over the window:
- Azure Monitor's `Requests` metric of the Container App, split by revisionName and statusCodeCategory
  at a 1-minute grain (azure-monitor-query): the share of 5xx among the canary's requests;
- latency probes against the canary revision's own address: their p95, and how many fail.
A breach ends the window early (the 5xx share only once MIN_REQUESTS requests back it); the window's
end judges everything seen. Azure Monitor publishes a minute's points a minute or two late: a window
of a few minutes is what makes the metric signal count.
"""

import datetime as dt
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from prediris_ops.azure.target import AzureTarget

Log = Callable[[str], None]
METRIC = "Requests"
# Fewer requests than this make the 5xx share noise: no early verdict on it before that many.
MIN_REQUESTS = 10
PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class CanaryPolicy:
    percent: int
    window: float  # seconds the canary is judged over
    check_every: float  # seconds between rounds of probes, metric reads and progress lines
    max_error_percent: float  # 5xx share (Azure Monitor) and failed-probe share allowed
    max_p95_ms: float  # p95 of the probes allowed
    probe_path: str = "/health/ready"
    probes_per_check: int = 5


@dataclass
class Signals:
    """What was seen of the canary so far."""

    requests: int = 0
    errors: int = 0  # 5xx, from Azure Monitor
    latencies_ms: list[float] = field(default_factory=list)
    failed_probes: list[str] = field(default_factory=list)

    @property
    def probes(self) -> int:
        return len(self.latencies_ms) + len(self.failed_probes)

    @property
    def p95_ms(self) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    def summary(self) -> str:
        share = f"{100 * self.errors / self.requests:.1f} %" if self.requests else "—"
        p95 = f"{self.p95_ms:.0f} ms" if self.p95_ms is not None else "—"
        return (
            f"{self.requests} request(s), {self.errors} 5xx ({share}) in Azure Monitor; "
            f"probes p95 {p95}, {len(self.failed_probes)} of {self.probes} failed"
        )


def breach(signals: Signals, policy: CanaryPolicy, *, final: bool) -> str | None:
    """Return why the canary fails its thresholds (None when it passes so far)."""
    if signals.requests and (final or signals.requests >= MIN_REQUESTS):
        share = 100 * signals.errors / signals.requests
        if share > policy.max_error_percent:
            return (
                f"{share:.1f} % of its {signals.requests} requests were 5xx (Azure Monitor), "
                f"above the {policy.max_error_percent:g} % allowed"
            )
    if signals.probes:
        failed = 100 * len(signals.failed_probes) / signals.probes
        if failed > policy.max_error_percent:
            return (
                f"{len(signals.failed_probes)} of {signals.probes} latency probes failed ({signals.failed_probes[0]}), "
                f"above the {policy.max_error_percent:g} % allowed"
            )
    p95 = signals.p95_ms
    if p95 is not None and p95 > policy.max_p95_ms:
        return f"its probes' p95 latency is {p95:.0f} ms, above the {policy.max_p95_ms:g} ms allowed"
    if final and not signals.probes:
        return "no latency probe reached it"
    return None


def probe(url: str) -> tuple[float | None, str | None]:
    """GET `url` once; return (milliseconds, None) on a 2xx, else (None, what went wrong)."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        return None, f"HTTP {error.code}"
    except OSError as error:
        return None, f"{type(error).__name__}: {getattr(error, 'reason', error)}"
    elapsed = 1000 * (time.perf_counter() - started)
    return (elapsed, None) if 200 <= status < 300 else (None, f"HTTP {status}")


def revision_requests(metrics_client, target: AzureTarget, revision: str, since: dt.datetime) -> tuple[int, int]:
    """Return (requests, 5xx) Azure Monitor counted for `revision` since `since`."""
    result = metrics_client.query_resource(
        target.app_id,
        [METRIC],
        timespan=(since, dt.datetime.now(dt.UTC)),
        granularity=dt.timedelta(minutes=1),
        aggregations=["Total"],
        filter=f"revisionName eq '{revision}' and statusCodeCategory eq '*'",
    )
    requests = errors = 0
    for metric in result.metrics:
        for series in metric.timeseries:
            labels = {name.lower(): str(value) for name, value in series.metadata_values.items()}
            if labels.get("revisionname", revision).lower() != revision.lower():
                continue
            count = int(sum(point.total or 0 for point in series.data))
            requests += count
            errors += count if labels.get("statuscodecategory", "").lower() == "5xx" else 0
    return requests, errors


def judge(
    metrics_client, target: AzureTarget, policy: CanaryPolicy, revision: str, url: str, log: Log, sleep=time.sleep
) -> tuple[str | None, Signals]:
    """Watch the canary for the window; return (why it fails or None, what was seen)."""
    signals = Signals()
    since = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    started = time.monotonic()
    probe_url = url.rstrip("/") + policy.probe_path
    log(f"judging {revision} for {policy.window:g} s: probes of {probe_url}, Azure Monitor {METRIC} by revisionName, statusCodeCategory")
    while True:
        sleep(policy.check_every)
        for _ in range(policy.probes_per_check):
            latency, failure = probe(probe_url)
            if latency is not None:  # probe returns exactly one of the two
                signals.latencies_ms.append(latency)
            elif failure is not None:
                signals.failed_probes.append(failure)
        signals.requests, signals.errors = revision_requests(metrics_client, target, revision, since)
        elapsed = time.monotonic() - started
        final = elapsed >= policy.window
        log(f"  {elapsed:5.0f} s / {policy.window:g} s  canary {revision}: {signals.summary()}")
        reason = breach(signals, policy, final=final)
        if reason is not None or final:
            return reason, signals
