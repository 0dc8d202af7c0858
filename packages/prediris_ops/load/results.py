"""Read what Taurus measured: the samples log (kpi.jtl) and the final statistics (final-stats.csv/xml).

The summary comes from Taurus's own final statistics, so it is what Taurus judged. The per-second
timeline comes from the samples log that JMeter writes, one CSV line
per request: its `timeStamp` (ms), `elapsed` (ms), `success` and `allThreads` (active users)
columns. Seconds are counted from the first sample's second, as Taurus buckets them.
"""

import csv
import io
import itertools
import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from prediris_ops.core.errors import OpsError

SAMPLES_FILE = "kpi.jtl"
FINAL_STATS_CSV = "final-stats.csv"
FINAL_STATS_XML = "final-stats.xml"
PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class Sample:
    timestamp_ms: int
    elapsed_ms: int
    success: bool
    users: int


class SamplesLog:
    """Read a growing samples log incrementally: only whole lines, the header once."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._offset = 0
        self._pending = ""
        self._columns: list[str] | None = None

    def read_new(self) -> list[Sample]:
        """Return the samples written since the last call (none while the file does not exist)."""
        try:
            with open(self.path, encoding="utf-8", errors="replace", newline="") as stream:
                stream.seek(self._offset)
                chunk = stream.read()
                self._offset = stream.tell()
        except FileNotFoundError:
            return []
        text = self._pending + chunk
        complete, _, self._pending = text.rpartition("\n")
        if not complete:
            return []
        rows = list(csv.reader(io.StringIO(complete + "\n")))
        if self._columns is None and rows:
            self._columns, rows = rows[0], rows[1:]
        return [sample for row in rows if (sample := self._sample(row)) is not None]

    def _sample(self, row: list[str]) -> Sample | None:
        columns = self._columns
        if columns is None or len(row) != len(columns):
            return None
        fields = dict(zip(columns, row, strict=True))
        try:
            return Sample(int(fields["timeStamp"]), int(fields["elapsed"]), fields["success"] == "true", int(fields.get("allThreads") or 0))
        except (KeyError, ValueError):
            return None


def read_samples(path: Path) -> list[Sample]:
    """Return every sample of a finished run's samples log."""
    return SamplesLog(path).read_new()


@dataclass(frozen=True)
class Summary:
    requests: int
    failures: int
    error_percent: float
    duration_seconds: float
    throughput_rps: float
    avg_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    def as_dict(self) -> dict:
        return asdict(self)


def read_summary(artifacts: Path) -> Summary:
    """Return the whole-run figures from Taurus's final statistics (the row without a label)."""
    csv_path, xml_path = artifacts / FINAL_STATS_CSV, artifacts / FINAL_STATS_XML
    try:
        with open(csv_path, newline="") as stream:
            overall = next(row for row in csv.DictReader(stream) if row["label"] == "")
        duration = float(ET.parse(xml_path).getroot().findtext("TestDuration") or "")  # noqa: S314 (written by our own Taurus run)
    except (OSError, StopIteration, KeyError, TypeError, ValueError, ET.ParseError) as error:
        raise OpsError(
            f"Taurus left no final statistics in {artifacts} ({type(error).__name__}: {error}); see bzt.log there", code=1
        ) from None
    requests = int(overall["throughput"])
    failures = int(overall["fail"])

    def ms(column: str) -> float:
        return round(float(overall[column]) * 1000, 1)

    return Summary(
        requests=requests,
        failures=failures,
        error_percent=round(100.0 * failures / requests, 3) if requests else 0.0,
        duration_seconds=duration,
        throughput_rps=round(requests / duration, 1) if duration else float(requests),
        avg_ms=ms("avg_rt"),
        p50_ms=ms("perc_50.0"),
        p90_ms=ms("perc_90.0"),
        p95_ms=ms("perc_95.0"),
        p99_ms=ms("perc_99.0"),
        max_ms=ms("perc_100.0"),
    )


@dataclass
class Second:
    """What happened in one second of the run."""

    second: int
    epoch: int
    requests: int
    errors: int
    users: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    # Little's law: the response times of a second's requests, summed, are the mean number in flight
    # (capped at the users: each has at most one request out; the sum spills over second boundaries).
    in_flight: float
    model_replicas: int | None = None
    replicas: int | None = None
    # The KEDA ScaledObject's query on the local Prometheus (measured) and the replicas KEDA would ask for (modelled).
    keda_value: float | None = None
    keda_replicas: int | None = None


def timeline(samples: list[Sample]) -> list[Second]:
    """Group samples into seconds from the first one; seconds without samples appear with zeros."""
    if not samples:
        return []
    by_second: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_second[sample.timestamp_ms // 1000].append(sample)
    first, last = min(by_second), max(by_second)
    seconds = []
    users = 0
    for epoch in range(first, last + 1):
        group = by_second.get(epoch, [])
        users = max((sample.users for sample in group), default=users)
        elapsed = np.array([sample.elapsed_ms for sample in group], dtype=float)
        marks = np.percentile(elapsed, PERCENTILES, method="higher") if len(group) else [math.nan] * len(PERCENTILES)
        seconds.append(
            Second(
                second=epoch - first,
                epoch=epoch,
                requests=len(group),
                errors=sum(not sample.success for sample in group),
                users=users,
                p50_ms=float(marks[0]),
                p95_ms=float(marks[2]),
                p99_ms=float(marks[3]),
                max_ms=float(elapsed.max()) if len(group) else math.nan,
                in_flight=round(min(float(elapsed.sum()) / 1000.0, users or math.inf), 2),
            )
        )
    return seconds


@dataclass(frozen=True)
class Step:
    """One concurrency level of a stepped (stress) run, measured once it was fully reached."""

    users: int
    seconds: int
    throughput_rps: float
    p95_ms: float
    p99_ms: float
    error_percent: float


def steps(seconds: list[Second], min_seconds: int = 3) -> list[Step]:
    """Group the timeline by concurrency level, for the levels held at least `min_seconds`."""
    levels: dict[int, list[Second]] = defaultdict(list)
    for item in seconds:
        if item.requests:
            levels[item.users].append(item)
    result = []
    for users in sorted(levels):
        # The first second of a level still mixes in the previous level: skip it.
        held = levels[users][1:]
        if len(held) < min_seconds:
            continue
        requests = sum(item.requests for item in held)
        result.append(
            Step(
                users=users,
                seconds=len(held),
                throughput_rps=round(requests / len(held), 1),
                p95_ms=round(float(np.nanmedian([item.p95_ms for item in held])), 1),
                p99_ms=round(float(np.nanmedian([item.p99_ms for item in held])), 1),
                error_percent=round(100.0 * sum(item.errors for item in held) / requests, 3) if requests else 0.0,
            )
        )
    return result


def knee(levels: list[Step], share: float = 0.9, error_rise: float = 1.0) -> Step | None:
    """Return the knee: the first level reaching `share` of the best throughput, past which more users buy little.

    A level where the error ratio rises by more than `error_rise` points marks the knee at the level
    before it. No knee while the last level is the first to come near the best: it is still scaling.
    """
    if len(levels) < 2:
        return None
    for previous, current in itertools.pairwise(levels):
        if current.error_percent > previous.error_percent + error_rise:
            return previous
    best = max(level.throughput_rps for level in levels)
    found = next(level for level in levels if level.throughput_rps >= share * best)
    return None if found is levels[-1] else found
