"""One load test from start to report: plan, JMeter, bzt with progress, results, report, verdict.

`invoke perf` resolves its options and the target, then calls `run_load_test`; everything it does
is here so that it can be tested with a MockContext (the bzt command) and for real (the e2e test).
"""

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from prediris_ops.core.errors import OpsError
from prediris_ops.load.jmeter import choose_jmeter, default_cache_dir
from prediris_ops.load.keda import QueryWatcher, add_keda, keda_summary
from prediris_ops.load.progress import Progress
from prediris_ops.load.replicas import ReplicaWatcher, ScaleRule, add_modelled_replicas, add_observed_replicas, scale_out
from prediris_ops.load.report import Report, summary_lines, write_report
from prediris_ops.load.results import SAMPLES_FILE, knee, read_samples, read_summary, steps, timeline
from prediris_ops.load.slo import Criterion, SloOverrides, apply_overrides, fit_windows, read_verdict
from prediris_ops.load.taurus import ARTIFACTS, EXECUTORS, SLO_REPORT, Load, Profile, bzt_command, load_profile, overrides, write_overrides

# bzt's exit status when a pass/fail criterion failed the run (any other non-zero is a tool error).
# The verdict itself is read from Taurus's pass/fail report: a criterion that triggers in the last
# second, after Taurus's final check, is reported there although bzt exits 0.
BZT_SLO_FAILED = 3


@dataclass
class PerfOptions:
    """What one run needs; None load values keep the profile's own."""

    root: Path
    profile: str
    executor: str
    target: str
    report_dir: Path
    concurrency: int | None = None
    ramp_up_seconds: int | None = None
    hold_seconds: int | None = None
    slo: SloOverrides = field(default_factory=SloOverrides)
    jmeter_home: str | None = None
    jmeter_cache: Path | None = None
    progress_every: float = 5.0
    rule: ScaleRule = field(default_factory=ScaleRule)
    watcher: ReplicaWatcher | None = None
    # Evaluates the KEDA ScaledObject's query on a local Prometheus while the test runs.
    keda: QueryWatcher | None = None


def new_report_dir(reports: Path, now: float | None = None) -> Path:
    """Create and return build/perf/<YYYYmmdd-HHMMSS>/ (with a suffix if that second is taken)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now or time.time()))
    for attempt in range(100):
        folder = reports / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise OpsError(f"cannot create a report folder under {reports}: too many runs in one second", code=1)


def plan_load(options: PerfOptions) -> tuple[Profile, Load, list[Criterion], str | None]:
    """Return the profile, the load and the effective criteria (with a note when windows were fitted)."""
    if options.executor not in EXECUTORS:
        raise OpsError(f"unknown executor {options.executor!r}: use one of {', '.join(EXECUTORS)}", code=2)
    profile = load_profile(options.root, options.profile)
    load = Load(
        concurrency=profile.load.concurrency if options.concurrency is None else options.concurrency,
        ramp_up_seconds=profile.load.ramp_up_seconds if options.ramp_up_seconds is None else options.ramp_up_seconds,
        hold_seconds=profile.load.hold_seconds if options.hold_seconds is None else options.hold_seconds,
        steps=profile.load.steps,
    )
    if load.concurrency < 1 or load.hold_seconds < 1 or load.ramp_up_seconds < 0:
        got = f"concurrency {load.concurrency}, ramp-up {load.ramp_up_seconds}, hold {load.hold_seconds}"
        raise OpsError(f"concurrency and hold must be at least 1 and ramp-up at least 0 (got {got})", code=2)
    criteria, note = fit_windows(apply_overrides(profile.criteria, options.slo), load.total_seconds)
    return profile, load, criteria, note


def run_load_test(c, options: PerfOptions) -> Report:
    """Run the load test through Taurus, print progress and the summary, write the report; return it."""
    profile, load, criteria, note = plan_load(options)
    folder = options.report_dir
    jmeter = None
    if options.executor == "jmeter":
        jmeter = choose_jmeter(options.jmeter_home, options.jmeter_cache or default_cache_dir(), say=lambda line: print(line, flush=True))
    config = overrides(
        root=options.root,
        profile=profile,
        executor=options.executor,
        target=options.target,
        load=load,
        criteria=criteria,
        report_dir=folder,
        jmeter=jmeter,
    )
    overrides_path = write_overrides(folder, config)
    files = [options.root / path for path in profile.files]
    print(
        f"load test: {profile.name} profile with {options.executor}, {load.concurrency} users "
        f"(ramp-up {load.ramp_up_seconds} s{f' in {load.steps} steps' if load.steps else ''}, hold {load.hold_seconds} s) "
        f"against {options.target}; report in {folder}/",
        flush=True,
    )
    artifacts = folder / ARTIFACTS
    watching = options.watcher if options.watcher is not None else nullcontext()
    querying = options.keda if options.keda is not None else nullcontext()
    progress = Progress(artifacts / SAMPLES_FILE, load.total_seconds, options.progress_every, say=lambda line: print(line, flush=True))
    with watching, querying, progress:
        # in_stream=False: bzt reads nothing, and CI (or pytest) may have no usable stdin.
        result = c.run(bzt_command(files, overrides_path), warn=True, hide=False, env={}, pty=False, in_stream=False)
    status = getattr(result, "exited", 1)
    if status not in (0, BZT_SLO_FAILED):
        raise OpsError(f"bzt failed with status {status} (not an SLO verdict): see {artifacts / 'bzt.log'}", code=status or 1)

    report = analyse(options, profile.name, load, criteria, jmeter=jmeter, notes=[note] if note else [])
    write_report(report, folder)
    print("\n".join(summary_lines(report, folder)), flush=True)
    return report


def analyse(
    options: PerfOptions, profile: str, load: Load, criteria: list[Criterion], *, jmeter=None, notes: list[str] | None = None
) -> Report:
    """Turn Taurus's artifacts in the report folder into a Report (figures, timeline, replicas, verdict)."""
    artifacts = options.report_dir / ARTIFACTS
    summary = read_summary(artifacts)
    seconds = timeline(read_samples(artifacts / SAMPLES_FILE))
    add_modelled_replicas(seconds, options.rule)
    watcher = options.watcher
    notes = list(notes or [])
    if watcher is not None:
        add_observed_replicas(seconds, watcher.readings)
        if watcher.problems:
            notes.append(f"{len(watcher.problems)} replica polls failed, first: {watcher.problems[0]}")
    keda = None
    if options.keda is not None:
        add_keda(seconds, options.keda.readings, options.rule)
        keda = keda_summary(options.keda, seconds, options.rule)
        if options.keda.problems:
            notes.append(f"{len(options.keda.problems)} Prometheus polls of the KEDA query failed, first: {options.keda.problems[0]}")
    levels = steps(seconds) if load.steps else []
    return Report(
        target=options.target,
        profile=profile,
        executor=options.executor,
        concurrency=load.concurrency,
        ramp_up_seconds=load.ramp_up_seconds,
        hold_seconds=load.hold_seconds,
        jmeter=f"{jmeter.origin}: {jmeter.home}" if jmeter else None,
        summary=summary,
        judgements=read_verdict(artifacts / SLO_REPORT, criteria),
        seconds=seconds,
        rule=options.rule,
        replicas_source="azure" if watcher is not None else "model",
        scale_out=scale_out(seconds, observed=watcher is not None),
        steps=levels,
        knee=knee(levels),
        notes=notes,
        keda=keda,
    )


def breach_line(report: Report, folder: Path) -> str:
    """Return the one line a failed SLO ends the task with."""
    breached = [item.criterion.describe() for item in report.judgements if item.breached and item.criterion.fail]
    return f"SLO breached: {'; '.join(breached)} — see {folder / 'report.png'}"
