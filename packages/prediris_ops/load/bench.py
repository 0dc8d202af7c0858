"""`invoke bench`: prediris against the limit and what users write instead, measured in one run with wrk.

The references (perf/bench/): `constant`, a bare WSGI callable answering a constant on granian with
prediris's own server options (the limit of a Python server on one core), and `fastapi`, FastAPI +
uvicorn with their defaults, a pydantic body and `model.predict` per request (what most users write).

Every server is started at once, pinned to the first core when the machine has two or more, while
wrk runs pinned to another core, so the generator never shares the servers' core; only one server
is loaded at a time. The servers are measured in alternating rounds (constant, fastapi, prediris,
then prediris, fastapi, constant, ...: every other round in reverse), and each figure is the median
over the rounds: a neighbour's burst of CPU then hurts one round of every server, not every round
of one. Every point is a warm-up (not measured) followed by a measured run; the server's CPU time and
resident memory are read (psutil) around the measured run. Ratios compare points of the same run
only: absolute figures on a shared machine mean little, ratios measured side by side do.

A/B runs: each `variants` entry is prediris with other settings (e.g. `threads=4`), measured in the
same rounds as the others, so a setting is judged against prediris's defaults and the references of
the same run.
"""

import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prediris_ops.core.errors import OpsError, OptionError
from prediris_ops.core.localapi import local_api
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import process_usage

SEED_ROW = [5.1, 3.5, 1.4, 0.2]
# The targets, as (ratio name, comparison, bound).
TARGETS = {
    "throughput_vs_constant": (">=", 0.25),
    "throughput_vs_fastapi": (">=", 12.0),
    "p99_vs_constant": ("<=", 6.0),
    "idle_p50_over_constant_ms": ("<=", 0.15),
}


@dataclass(frozen=True)
class Subject:
    name: str
    argv: list[str]
    description: str
    settings: dict = field(default_factory=dict)


SUBJECTS = {
    "constant": Subject(
        "constant", [sys.executable, str(ROOT / "perf" / "bench" / "constant.py")], "bare WSGI constant on granian, prediris's options"
    ),
    "fastapi": Subject(
        "fastapi", [sys.executable, str(ROOT / "perf" / "bench" / "fastapi_predict.py")], "FastAPI + uvicorn, pydantic body, model.predict"
    ),
    "prediris": Subject("prediris", [sys.executable, "-m", "prediris_api"], "prediris /predict"),
}


@dataclass
class Point:
    subject: str
    connections: int
    rows_per_request: int
    duration_s: float
    requests: int = 0
    requests_per_s: float = 0.0
    rows_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    timeouts: int = 0
    server_cpu_percent: float = 0.0
    server_rss_mb: float = 0.0
    # Requests answered per second of the server's CPU time: what a change costs, even when a busy
    # machine gives the server less than its core.
    requests_per_cpu_s: float = 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


@dataclass
class BenchConfig:
    model_dir: str
    out_dir: Path
    duration: float = 10.0
    warmup: float = 3.0
    connections: int = 100
    subjects: tuple[str, ...] = ("constant", "fastapi", "prediris")
    memory_requests: int = 100_000
    wrk: str = "wrk"
    timeout_s: int = 5
    settings: dict = field(default_factory=dict)
    # Rounds of alternating measurements; each figure is the median over them.
    rounds: int = 1
    # A/B: name -> prediris settings, each measured as one more server (see variant()).
    variants: dict[str, dict] = field(default_factory=dict)


@dataclass
class Report:
    started_at: str
    machine: dict
    config: dict
    points: list[Point]
    ratios: dict
    memory: dict
    # A/B: each variant's ratios, computed exactly as prediris's.
    variants: dict = field(default_factory=dict)
    # The drift counting's per-request cost from the microbenchmark, and as a share of prediris's CPU
    # time per request at the loaded point (what the A/B run drift_metrics=false measures end to end).
    drift_counting: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {**asdict(self), "points": [asdict(point) | {"errors": point.errors} for point in self.points]}


# ---- wrk ------------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_script(body: bytes) -> str:
    """Return a wrk Lua script that POSTs `body` as JSON."""
    text = body.decode()
    level = "="
    while f"]{level}]" in text:  # a Lua long bracket that the body cannot close
        level += "="
    return f'wrk.method = "POST"\nwrk.body = [{level}[{text}]{level}]\nwrk.headers["Content-Type"] = "application/json"\n'


def wrk_argv(wrk: str, url: str, connections: int, duration: float, script: Path, timeout_s: int) -> list[str]:
    """Return the wrk command for one point: one thread, latency percentiles, client timeout."""
    return [
        wrk,
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(duration))}s",
        "--timeout",
        f"{timeout_s}s",
        "--latency",
        "--script",
        str(script),
        url,
    ]


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(output: str) -> dict:
    """Extract requests, rate, p50/p99 (ms), non-2xx and socket errors from wrk's report."""
    found = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not found or not rate:
        raise ValueError(f"not a wrk report: {output[-300:]!r}")
    result = {"requests": int(found.group(1)), "requests_per_s": float(rate.group(1))}
    for label, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        result[key] = _ms(*match.groups()) if match else 0.0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counts = [int(value) for value in sockets.groups()] if sockets else [0, 0, 0, 0]
    result["socket_errors"] = sum(counts)
    result["timeouts"] = counts[3]
    return result


# ---- the server under test --------------------------------------------------------------------


def cores() -> tuple[set[int] | None, set[int] | None]:
    """Return (server cores, generator cores): disjoint when there are at least two."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return {available[0]}, set(available[1:])


def pinned(argv: list[str], cpus: set[int] | None) -> list[str]:
    """Return `argv` run by taskset on `cpus` (every thread it starts inherits them), or as is."""
    if cpus is None:
        return argv
    return ["taskset", "--cpu-list", ",".join(str(cpu) for cpu in sorted(cpus)), *argv]


def process_cpu_seconds(pid: int) -> float:
    """Return the user+system CPU seconds of a process (all its threads)."""
    return process_usage(pid).cpu_seconds


def process_rss_mb(pid: int) -> float:
    """Return the resident set size of a process in MiB."""
    return process_usage(pid).rss_kib / 1024


def variant(spec: str) -> tuple[str, dict]:
    """Parse `key=value[,key=value...]` (prediris settings) into (subject name, settings)."""
    settings = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise OptionError(f"bench: variant {spec!r} is not key=value[,key=value] (e.g. threads=4)")
        settings[key.strip().lower()] = value.strip()
    if not settings:
        raise OptionError("bench: an empty variant; give prediris settings as key=value (e.g. threads=4)")
    return f"prediris[{','.join(f'{key}={value}' for key, value in settings.items())}]", settings


def subjects_of(config: BenchConfig) -> list[Subject]:
    """Return the servers of this run: the chosen reference ones, then prediris's variants."""
    chosen = [SUBJECTS[name] for name in config.subjects]
    prediris = SUBJECTS["prediris"]
    variants = [
        Subject(name, prediris.argv, f"prediris /predict with {name[len('prediris') :]}", settings)
        for name, settings in config.variants.items()
    ]
    return chosen + variants


@contextmanager
def running(subject: Subject, config: BenchConfig, log_dir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start one server pinned to the server core, wait until ready, stop it afterwards."""
    server_cores, _ = cores()
    with local_api(
        config.model_dir,
        log_dir / f"{subject.name}.log",
        settings={"log_level": "WARNING", **config.settings, **subject.settings},
        argv=pinned(subject.argv, server_cores),
        name=f"bench: the {subject.name} server",
    ) as api:
        yield api.base_url, api.process


def run_wrk(config: BenchConfig, url: str, connections: int, duration: float, script: Path) -> dict:
    """Run wrk pinned to the generator cores; return its parsed report."""
    _, generator_cores = cores()
    argv = pinned(wrk_argv(config.wrk, url, connections, duration, script, config.timeout_s), generator_cores)
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise OpsError(f"bench: wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()[-200:]}", code=1)
    return parse_wrk(result.stdout)


def measure(config: BenchConfig, subject: str, base: str, process: subprocess.Popen, connections: int, script: Path, rows: int) -> Point:
    """Warm up, then measure one point: wrk's figures plus the server's CPU and memory."""
    url = base + "/predict"
    if config.warmup > 0:
        run_wrk(config, url, connections, config.warmup, script)
        # Requests of the warm-up's closed connections may still be in the server: let them finish
        # so they neither count nor meet the admission limit together with the measured ones.
        time.sleep(1.0)
    cpu_before, wall_before = process_cpu_seconds(process.pid), time.monotonic()
    figures = run_wrk(config, url, connections, config.duration, script)
    cpu = process_cpu_seconds(process.pid) - cpu_before
    wall = time.monotonic() - wall_before
    point = Point(subject=subject, connections=connections, rows_per_request=rows, duration_s=round(config.duration, 1), **figures)
    point.rows_per_s = round(point.requests_per_s * rows, 1)
    point.server_cpu_percent = round(100 * cpu / wall, 1)
    point.server_rss_mb = round(process_rss_mb(process.pid), 1)
    point.requests_per_cpu_s = round(point.requests / cpu, 1) if cpu > 0 else 0.0
    return point


def machine() -> dict:
    """Describe where the figures come from."""
    model = ""
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    return {
        "cpu": model or platform.processor(),
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "server_cores": sorted(cores()[0] or []),
        "generator_cores": sorted(cores()[1] or []),
    }


def loaded_point(points: list[Point], subject: str = "prediris") -> Point | None:
    """Return `subject`'s single-row point at the most connections of `points` (the loaded point)."""
    connections = max((point.connections for point in points), default=0)
    return next((p for p in points if (p.subject, p.connections, p.rows_per_request) == (subject, connections, 1)), None)


def ratios(points: list[Point], subject: str = "prediris") -> dict:
    """Compute the issue's ratios of `subject` (prediris or one of its variants) from points of this run."""
    by = {(point.subject, point.connections, point.rows_per_request): point for point in points}
    result: dict[str, float | None] = {}
    loaded = loaded_point(points, subject)
    constant = by.get(("constant", loaded.connections, 1)) if loaded else None
    fastapi = by.get(("fastapi", loaded.connections, 1)) if loaded else None
    if loaded and constant and constant.requests_per_s:
        result["throughput_vs_constant"] = round(loaded.requests_per_s / constant.requests_per_s, 3)
        result["p99_vs_constant"] = round(loaded.p99_ms / constant.p99_ms, 3) if constant.p99_ms else None
    if loaded and fastapi and fastapi.requests_per_s:
        result["throughput_vs_fastapi"] = round(loaded.requests_per_s / fastapi.requests_per_s, 3)
    idle, idle_constant = by.get((subject, 1, 1)), by.get(("constant", 1, 1))
    if idle and idle_constant:
        result["idle_p50_over_constant_ms"] = round(idle.p50_ms - idle_constant.p50_ms, 3)
    return result


def verdicts(computed: dict) -> dict:
    """Return {ratio: True/False} against TARGETS for the ratios computed."""
    checks = {">=": lambda value, bound: value >= bound, "<=": lambda value, bound: value <= bound}
    return {name: checks[op](computed[name], bound) for name, (op, bound) in TARGETS.items() if computed.get(name) is not None}


_MEDIAN_FIELDS = (
    "requests",
    "requests_per_s",
    "rows_per_s",
    "p50_ms",
    "p99_ms",
    "server_cpu_percent",
    "server_rss_mb",
    "requests_per_cpu_s",
)


def medians(rounds: list[list[Point]]) -> list[Point]:
    """Merge the points of every round into one per (subject, connections, rows): each figure's median,
    errors summed (one error in any round is an error of the run)."""
    merged: dict[tuple, list[Point]] = {}
    for points in rounds:
        for point in points:
            merged.setdefault((point.subject, point.connections, point.rows_per_request), []).append(point)
    result = []
    for same in merged.values():
        point = Point(**{**asdict(same[0]), "non_2xx": 0, "socket_errors": 0, "timeouts": 0})
        for name in _MEDIAN_FIELDS:
            values = [getattr(item, name) for item in same if getattr(item, name) is not None]
            if values:
                middle = statistics.median(values)
                setattr(point, name, round(middle, 3) if isinstance(middle, float) else middle)
        for name in ("non_2xx", "socket_errors", "timeouts"):
            setattr(point, name, sum(getattr(item, name) for item in same))
        result.append(point)
    return result


def paired_cpu_ratio(rounds: list[list[Point]], variant_name: str) -> float | None:
    """The variant's requests per CPU-second over prediris's at the loaded point: the median of the
    per-round ratios, so that what changed between rounds (the machine's load) cancels out."""
    per_round = []
    for points in rounds:
        base, other = loaded_point(points), loaded_point(points, variant_name)
        if base and other and base.requests_per_cpu_s:
            per_round.append(other.requests_per_cpu_s / base.requests_per_cpu_s)
    return round(statistics.median(per_round), 3) if per_round else None


def drift_counting(config: BenchConfig, points: list[Point]) -> dict:
    """The per-row microbenchmark, and its one-row cost over prediris's CPU time per loaded request."""
    from prediris_ops.load.drift_cost import drift_counting_us  # noqa: PLC0415 - numpy and the model, not to list the tasks

    figures: dict = drift_counting_us(Path(config.model_dir), SEED_ROW)
    loaded = loaded_point(points)
    if loaded and loaded.requests_per_cpu_s:
        figures["share_of_request_cpu"] = round(figures["one_row_request_us"] * loaded.requests_per_cpu_s / 1e6, 4)
    return figures


def run_bench(config: BenchConfig, progress: Callable[[str], None] = print) -> Report:
    """Measure every server at `connections` and at 1 connection (and prediris's 100-row batches),
    in `rounds` alternating rounds."""
    started = datetime.now(UTC)
    work = config.out_dir / started.strftime("%Y%m%dT%H%M%SZ")
    work.mkdir(parents=True, exist_ok=True)
    single = work / "single.lua"
    single.write_text(wrk_script(json.dumps({"X": SEED_ROW}).encode()))
    batch = work / "batch100.lua"
    batch.write_text(wrk_script(json.dumps({"X": _iris_rows(100)}).encode()))
    subjects = subjects_of(config)
    rounds: list[list[Point]] = []
    memory: dict = {}
    with ExitStack() as stack:
        servers = {subject.name: stack.enter_context(running(subject, config, work / "logs")) for subject in subjects}
        rss_start = {name: process_rss_mb(process.pid) for name, (_, process) in servers.items()}
        for number in range(1, max(1, config.rounds) + 1):
            points: list[Point] = []
            # Every other round in the reverse order: no server is always measured first or right after
            # another one (an A/B pair would otherwise carry the order as a difference).
            for subject in subjects if number % 2 else subjects[::-1]:
                base, process = servers[subject.name]
                progress(f"bench: {subject.name} ({subject.description})" + (f", round {number}" if config.rounds > 1 else ""))
                for connections in dict.fromkeys((config.connections, 1)):
                    point = measure(config, subject.name, base, process, connections, single, 1)
                    progress(f"  {connections:>4} connections: {describe(point)}")
                    points.append(point)
                if subject.name.startswith("prediris"):  # a variant serves the same load as prediris
                    point = measure(config, subject.name, base, process, config.connections, batch, 100)
                    progress(
                        f"  {config.connections:>4} connections, 100-row batches: {point.rows_per_s:>9.1f} rows/s  errors {point.errors}"
                    )
                    points.append(point)
            rounds.append(points)
        if "prediris" in servers:
            base, process = servers["prediris"]
            memory = _memory_check(config, base, process, single, rss_start["prediris"], progress)
    points = medians(rounds)
    drift = drift_counting(config, points) if "prediris" in servers else {}
    report = Report(
        started_at=started.isoformat(timespec="seconds"),
        machine=machine(),
        config={key: value for key, value in asdict(config).items() if key != "out_dir"} | {"out_dir": str(config.out_dir)},
        points=points,
        ratios=ratios(points),
        memory=memory,
        variants={name: ratios(points, name) | {"req_per_cpu_s_vs_prediris": paired_cpu_ratio(rounds, name)} for name in config.variants},
        drift_counting=drift,
    )
    document = report.to_dict() | {"verdicts": verdicts(report.ratios)}
    (work / "bench.json").write_text(json.dumps(document, indent=2) + "\n")
    (config.out_dir / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    return report


def _memory_check(config: BenchConfig, base: str, process: subprocess.Popen, script: Path, rss_start: float, progress) -> dict:
    """Serve `memory_requests` more requests and compare resident memory before and after."""
    if config.memory_requests <= 0:
        return {}
    served, rss_before = 0, process_rss_mb(process.pid)
    while served < config.memory_requests:
        figures = run_wrk(config, base + "/predict", config.connections, max(1.0, config.duration), script)
        served += figures["requests"]
        if figures["requests"] == 0:
            break
    rss_after = process_rss_mb(process.pid)
    progress(f"  memory: {rss_before:.1f} MiB before, {rss_after:.1f} MiB after {served} more requests")
    return {
        "requests": served,
        "rss_at_start_mb": round(rss_start, 1),
        "rss_before_mb": round(rss_before, 1),
        "rss_after_mb": round(rss_after, 1),
    }


def _iris_rows(count: int) -> list[list[float]]:
    from prediris_model.dataset import load_dataset  # noqa: PLC0415 - only the batch script needs the data

    features, _ = load_dataset()
    return features[:count].tolist()


def describe(point: Point) -> str:
    """One progress line for a measured point."""
    return f"{point.requests_per_s:>9.1f} req/s  p50 {point.p50_ms:.3f} ms  p99 {point.p99_ms:.3f} ms  errors {point.errors}"


HEADER = ("server", "conns", "rows", "req/s", "rows/s", "p50 ms", "p99 ms", "errors", "cpu %", "rss MiB", "req/cpu-s")
WIDTHS = (10, 6, 6, 11, 11, 9, 9, 8, 7, 9, 10)


def format_table(report: Report) -> str:
    """Render the points, the ratios and the verdicts as a text table."""
    first = max([WIDTHS[0], *(len(point.subject) + 1 for point in report.points)])
    lines = [HEADER[0].ljust(first) + "".join(title.rjust(width) for title, width in zip(HEADER[1:], WIDTHS[1:], strict=True))]
    for point in report.points:
        cells = (
            f"{point.connections}",
            f"{point.rows_per_request}",
            f"{point.requests_per_s:.1f}",
            f"{point.rows_per_s:.1f}",
            f"{point.p50_ms:.3f}",
            f"{point.p99_ms:.3f}",
            f"{point.errors}",
            f"{point.server_cpu_percent:.1f}",
            f"{point.server_rss_mb:.1f}",
            f"{point.requests_per_cpu_s:.0f}",
        )
        lines.append(point.subject.ljust(first) + "".join(cell.rjust(width) for cell, width in zip(cells, WIDTHS[1:], strict=True)))
    lines.append("")
    marks = verdicts(report.ratios)
    for name, value in report.ratios.items():
        op, bound = TARGETS[name]
        mark = "" if name not in marks else ("  met" if marks[name] else "  NOT MET")
        lines.append(f"{name:<24}{value!s:>9}   target {op} {bound}{mark}")
    if marks:
        lines.append(f"targets met: {sum(marks.values())} of {len(TARGETS)}")
    for name, computed in report.variants.items():
        lines.append(f"{name}: " + ", ".join(f"{key} {value}" for key, value in computed.items()))
    if report.drift_counting:
        lines.append("drift counting (microbenchmark): " + ", ".join(f"{key} {value}" for key, value in report.drift_counting.items()))
    if report.memory:
        memory = report.memory
        lines.append(f"{'memory':<24}{memory['rss_before_mb']:>9} MiB -> {memory['rss_after_mb']} MiB after {memory['requests']} requests")
    info = report.machine
    lines.append(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, load average {info['load_average']}")
    return "\n".join(lines)
