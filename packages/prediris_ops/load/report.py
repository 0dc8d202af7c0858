"""The report of a load test: summary.json, timeline.csv, report.png and the printed summary.

The picture is meant to be read without the logs: throughput and errors, latency percentiles
against the SLO thresholds, and active users with replicas (Azure's count, or the model of its HTTP
rule, labelled as such) over the same time axis, with the verdict in the title.
"""

import csv
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt

from prediris_ops.load.replicas import ScaleOut, ScaleRule
from prediris_ops.load.results import Second, Step, Summary
from prediris_ops.load.slo import Judgement

SUMMARY_JSON = "summary.json"
TIMELINE_CSV = "timeline.csv"
REPORT_PNG = "report.png"
TIMELINE_COLUMNS = (
    "second",
    "epoch",
    "requests",
    "errors",
    "users",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "in_flight",
    "model_replicas",
    "replicas",
    "keda_value",
    "keda_replicas",
)


@dataclass
class Report:
    """Everything one run produced, in the shape summary.json holds it."""

    target: str
    profile: str
    executor: str
    concurrency: int
    ramp_up_seconds: int
    hold_seconds: int
    jmeter: str | None
    summary: Summary
    judgements: list[Judgement]
    seconds: list[Second]
    rule: ScaleRule
    replicas_source: str  # "azure" (observed) or "model"
    scale_out: ScaleOut | None = None
    steps: list[Step] = field(default_factory=list)
    knee: Step | None = None
    notes: list[str] = field(default_factory=list)
    # The KEDA ScaledObject's query evaluated on a local Prometheus (keda.keda_summary), when one ran.
    keda: dict | None = None

    @property
    def passed(self) -> bool:
        return not any(item.breached and item.criterion.fail for item in self.judgements)

    def as_dict(self) -> dict:
        return {
            "target": self.target,
            "profile": self.profile,
            "executor": self.executor,
            "load": {"concurrency": self.concurrency, "ramp_up_seconds": self.ramp_up_seconds, "hold_seconds": self.hold_seconds},
            "jmeter": self.jmeter,
            "summary": self.summary.as_dict(),
            "slo": {
                "passed": self.passed,
                "criteria": [
                    {
                        "objective": item.criterion.describe(),
                        "taurus": item.criterion.to_taurus(),
                        "breached": item.breached,
                        "message": item.message,
                    }
                    for item in self.judgements
                ],
            },
            "replicas": {
                "source": self.replicas_source,
                "rule": asdict(self.rule),
                "note": self.rule.label() if self.replicas_source == "model" else "observed through the Azure SDK (active revisions)",
                **(asdict(self.scale_out) if self.scale_out else {}),
                "keda": self.keda,
            },
            "steps": [asdict(step) for step in self.steps],
            "knee": asdict(self.knee) if self.knee else None,
            "notes": self.notes,
        }


def write_summary_json(report: Report, folder: Path) -> Path:
    path = folder / SUMMARY_JSON
    path.write_text(json.dumps(report.as_dict(), indent=2, allow_nan=False, default=_no_nan) + "\n")
    return path


def _no_nan(value):
    raise TypeError(f"{value!r} is not JSON")


def write_timeline_csv(seconds: list[Second], folder: Path) -> Path:
    path = folder / TIMELINE_CSV
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=TIMELINE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for item in seconds:
            row = asdict(item)
            writer.writerow(
                {key: "" if value is None or (isinstance(value, float) and math.isnan(value)) else value for key, value in row.items()}
            )
    return path


def _threshold(report: Report, subject: str) -> tuple[float, int] | None:
    """Return (threshold in ms, window in s) of the latency criterion on `subject`, if there is one."""
    for item in report.judgements:
        if item.criterion.subject == subject and item.criterion.threshold.endswith("ms"):
            return float(item.criterion.threshold.removesuffix("ms")), item.criterion.window_seconds
    return None


def shown_target(target: str) -> str:
    """Return the target as a title names it: its host, or "a local API" for a loopback one (its port changes every run)."""
    host = urlsplit(target).hostname or target
    return "a local API" if host in ("localhost", "::1") or host.startswith("127.") else host


def draw(report: Report, folder: Path) -> Path:
    """Draw report.png: throughput/errors, latency percentiles, users and in-flight requests, replicas over time."""
    seconds = report.seconds
    x = [item.second for item in seconds]
    figure, (top, middle, bottom, replicas_axis) = plt.subplots(
        4, 1, figsize=(11, 11.5), sharex=True, constrained_layout=True, height_ratios=(3, 3, 3, 2)
    )
    verdict = "SLO PASSED" if report.passed else "SLO FAILED"
    summary = report.summary
    figure.suptitle(
        f"{verdict} — {report.profile} profile, {report.executor}, {report.concurrency} users against {shown_target(report.target)}\n"
        f"{summary.requests:,} requests, {summary.throughput_rps:,.0f} req/s, {summary.failures:,} errors ({summary.error_percent:.2f}%), "
        f"p50 {summary.p50_ms:.0f} ms, p95 {summary.p95_ms:.0f} ms, p99 {summary.p99_ms:.0f} ms",
        fontsize=11,
        color="black" if report.passed else "firebrick",
    )
    # The ramp-up, shaded: users are still being added, so its figures are not steady state.
    ramp_end = next((item.second for item in seconds if item.users >= report.concurrency), None) if not report.steps else None
    for axis in (top, middle, bottom, replicas_axis):
        if ramp_end:
            axis.axvspan(0, ramp_end, color="0.92", zorder=0)
        axis.grid(alpha=0.3)
    if ramp_end:
        top.text(ramp_end / 2, 0.97, "ramp-up", transform=top.get_xaxis_transform(), ha="center", va="top", fontsize=8, color="0.4")

    top.plot(x, [item.requests for item in seconds], color="tab:blue", label="throughput (requests/s)")
    top.bar(x, [item.errors for item in seconds], color="tab:red", label=f"errors per second ({summary.failures:,} in all)", width=1.0)
    for step in report.steps:
        held = [item.second for item in seconds if item.users == step.users]
        top.hlines(step.throughput_rps, min(held), max(held), color="tab:blue", linewidth=5, alpha=0.35)
    if report.steps:
        top.plot([], [], color="tab:blue", linewidth=5, alpha=0.35, label="mean throughput of each step")
    top.set_ylabel("requests per second")
    top.set_ylim(bottom=0)
    top.legend(loc="lower right")

    for name, color in (("p50_ms", "tab:green"), ("p95_ms", "tab:orange"), ("p99_ms", "tab:red")):
        middle.plot(x, [getattr(item, name) for item in seconds], color=color, label=f"{name.removesuffix('_ms')} per second")
    for subject, color in (("p95", "tab:orange"), ("p99", "tab:red")):
        found = _threshold(report, subject)
        if found is not None:
            limit, window = found
            judged = f"mean of {window} s windows" if window else "whole run"
            middle.axhline(limit, color=color, linestyle="--", linewidth=1, label=f"SLO: {subject} ≤ {limit:g} ms ({judged})")
    middle.set_ylabel("latency (ms)")
    middle.set_ylim(bottom=0)
    middle.legend(loc="upper right", ncol=2, fontsize=8)

    bottom.plot(x, [item.users for item in seconds], color="tab:purple", label="active users (load generator)")
    bottom.plot(x, [item.in_flight for item in seconds], color="tab:gray", linewidth=1, label="requests in flight (measured)")
    bottom.set_ylabel("users, requests in flight")
    bottom.set_ylim(bottom=0)
    replicas_axis.set_title("measured: solid lines — modelled: dashed lines", fontsize=8, loc="left", color="0.3")
    replicas_axis.set_xlabel("seconds since the first request")
    if report.replicas_source == "azure":
        values, label, style = [item.replicas for item in seconds], "replicas (Azure, observed)", "-"
    else:
        values, label, style = [item.model_replicas for item in seconds], report.rule.label(), "--"
    replicas_axis.step(
        x, [math.nan if value is None else value for value in values], where="post", color="black", linestyle=style, label=label
    )
    if report.replicas_source == "azure":
        # What the rule asks for at each second, next to what Azure ran: the gap is the scaling delay.
        modelled = [item.model_replicas for item in seconds]
        replicas_axis.step(x, modelled, where="post", color="0.5", linestyle="--", linewidth=1, label=report.rule.label())
    if report.keda is not None:
        _draw_keda(report.keda, report.seconds, x, bottom, replicas_axis)
    bottom.legend(loc="lower right", fontsize=8)
    replicas_axis.axhline(
        report.rule.max_replicas, color="black", linestyle=":", linewidth=1, label=f"max replicas ({report.rule.max_replicas})"
    )
    replicas_axis.set_ylabel("replicas")
    replicas_axis.set_ylim(0, max([*(value or 0 for value in values), report.rule.max_replicas]) * 1.15)
    replicas_axis.yaxis.get_major_locator().set_params(integer=True)
    # Below the panel: inside it, the legend would hide some line whatever the load looked like.
    replicas_axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, fontsize=8)

    if report.knee is not None:
        knee_at = max(item.second for item in seconds if item.users == report.knee.users)
        for axis in (top, middle, bottom, replicas_axis):
            axis.axvline(knee_at, color="black", linestyle=":", linewidth=1)
        top.annotate(
            f"knee: {report.knee.users} users, {report.knee.throughput_rps:,.0f} req/s",
            xy=(knee_at, report.knee.throughput_rps),
            fontsize=8,
        )
    path = folder / REPORT_PNG
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _draw_keda(keda: dict, seconds: list[Second], x: list[int], bottom, replicas_axis) -> None:
    """Draw the KEDA query's measured values (dots) and the replicas KEDA would ask for (dashed)."""
    polled = [(item.second, item.keda_value) for item in seconds if item.keda_value is not None]
    # Dots at each second's latest poll: measured by the real Prometheus, on the in-flight axis.
    bottom.plot(
        [second for second, _ in polled],
        [value for _, value in polled],
        color="tab:green",
        marker=".",
        linestyle="none",
        markersize=4,
        label="in flight per Prometheus: the KEDA ScaledObject's query (measured)",
    )
    replicas_axis.step(
        x,
        [math.nan if item.keda_replicas is None else item.keda_replicas for item in seconds],
        where="post",
        color="tab:green",
        linestyle="--",
        linewidth=1.5,
        label=f"model of KEDA on that query: ceil(value / {keda['threshold']}), {keda['min_replicas']}–{keda['max_replicas']} replicas",
    )


def summary_lines(report: Report, folder: Path) -> list[str]:
    """Return the printed summary: a table of figures, the replicas, the steps, and the SLO verdict."""
    s = report.summary
    lines = [
        f"load test of {report.target}: {report.profile} profile, {report.executor}, {report.concurrency} users "
        f"(ramp-up {report.ramp_up_seconds} s, hold {report.hold_seconds} s)",
        "",
        "  requests  throughput   errors         p50      p90      p95      p99      max",
        f"  {s.requests:>8,}  {s.throughput_rps:>7.1f}/s  {s.failures:>6} {s.error_percent:>5.2f}%"
        f"  {s.p50_ms:>5.0f} ms {s.p90_ms:>5.0f} ms {s.p95_ms:>5.0f} ms {s.p99_ms:>5.0f} ms {s.max_ms:>5.0f} ms",
        "",
    ]
    scale = report.scale_out
    if report.replicas_source == "azure" and scale:
        rise = f"{scale.seconds_to_scale_out} s after load started" if scale.seconds_to_scale_out is not None else "not during the test"
        lines.append(f"  replicas (Azure): {scale.start_replicas} at start, peak {scale.peak_replicas}; first scale-out {rise}")
    elif scale:
        line = f"  replicas ({report.rule.label()}): peak {scale.peak_replicas}"
        wanted = max((math.ceil(item.in_flight / report.rule.concurrent_requests) for item in report.seconds), default=0)
        if wanted > report.rule.max_replicas:
            line += f" — the rule would ask for {wanted}: raise max replicas or concurrentRequests"
        lines.append(line)
    if report.keda is not None:
        keda = report.keda
        lines.append(
            f"  KEDA (modelled on the ScaledObject's query, {keda['polls']} Prometheus polls): peak value {keda['peak_value']}, "
            f"would ask for up to {keda['peak_replicas']} replicas"
        )
    if report.steps:
        lines.append("  step  users  throughput      p95      p99  errors")
        for number, step in enumerate(report.steps, 1):
            marker = "  ← knee" if report.knee is not None and step.users == report.knee.users else ""
            figures = f"{step.throughput_rps:>8.1f}/s {step.p95_ms:>5.0f} ms {step.p99_ms:>5.0f} ms  {step.error_percent:.2f}%"
            lines.append(f"  {number:>4}  {step.users:>5}  {figures}{marker}")
    lines.extend(f"  note: {note}" for note in report.notes)
    lines.append("  SLO:")
    for item in report.judgements:
        state = "FAIL" if item.breached and item.criterion.fail else ("warn" if item.breached else "ok  ")
        lines.append(f"    {state} {item.criterion.describe()}")
    lines.append(f"  report: {folder}/ ({REPORT_PNG}, {SUMMARY_JSON}, {TIMELINE_CSV}, Taurus artifacts in taurus/)")
    return lines


def write_report(report: Report, folder: Path) -> list[Path]:
    """Write summary.json, timeline.csv and report.png into `folder`; return their paths."""
    return [write_summary_json(report, folder), write_timeline_csv(report.seconds, folder), draw(report, folder)]
