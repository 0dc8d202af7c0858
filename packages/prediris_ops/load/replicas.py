"""Replicas during a load test: the count Azure reports, or the count Azure's HTTP rule would ask for.

On Azure, `ReplicaWatcher` polls the Container App's active revisions through the Azure SDK while
the test runs. Locally there is one server and no autoscaler, so `modelled_replicas` applies the
documented rule of a Container Apps HTTP scale rule to what was measured: desired replicas =
ceil(concurrent requests / concurrentRequests target), kept within [min, max] replicas. It is a
model (Azure also polls every ~15-30 s and waits 300 s before scaling in), for sizing the rule.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from prediris_ops.load.periodic import Watcher
from prediris_ops.load.results import Second

# A reading's value: a replica count, or a query's value.
Value = TypeVar("Value", int, float)


@dataclass(frozen=True)
class ScaleRule:
    """The HTTP scale rule of the Container App: its concurrentRequests target and replica bounds."""

    concurrent_requests: int = 10
    min_replicas: int = 0
    max_replicas: int = 10

    def desired(self, concurrent: float) -> int:
        """Return the replicas the rule asks for when `concurrent` requests are in flight."""
        wanted = math.ceil(round(concurrent, 6) / self.concurrent_requests) if concurrent > 0 else 0
        return max(self.min_replicas, min(self.max_replicas, wanted))

    def label(self) -> str:
        return f"model of Azure's HTTP rule: ceil(in-flight / {self.concurrent_requests}), {self.min_replicas}–{self.max_replicas} replicas"


def add_modelled_replicas(seconds: list[Second], rule: ScaleRule) -> None:
    """Fill each second's `model_replicas` from its measured in-flight requests."""
    for item in seconds:
        item.model_replicas = rule.desired(item.in_flight)


@dataclass(frozen=True)
class ReplicaReading:
    epoch: float
    replicas: int


def count_replicas(client, resource_group: str, app: str) -> int:
    """Return the replicas running now in the app's active revisions (Azure SDK, ContainerAppsAPIClient)."""
    # The replicas themselves (what `az containerapp replica list` shows), not the revision's summary count.
    active = [revision.name for revision in client.container_apps_revisions.list_revisions(resource_group, app) if revision.active]
    return sum(len(client.container_apps_revision_replicas.list_replicas(resource_group, app, name).value or []) for name in active)


@dataclass
class ReplicaWatcher(Watcher):
    """Poll the replica count in a background thread (at start, every few seconds, at the end); keep every reading."""

    read: Callable[[], int]
    every_seconds: float = 5.0
    readings: list[ReplicaReading] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # The errors of one failed read (the SDK's AzureError is added by the caller: the deploy extra is optional).
    transient: tuple[type[Exception], ...] = (OSError,)

    def take(self) -> None:
        """Read the count now and keep it (a failed read is kept as a problem, not raised)."""
        try:
            self.readings.append(ReplicaReading(time.time(), self.read()))
        except self.transient as error:
            # One failed poll must not end the load test; the report says how many failed.
            self.problems.append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")


def latest_at(seconds: list[Second], points: list[tuple[float, Value]]) -> list[Value | None]:
    """Return, for each second, the value of the latest (epoch, value) point read before its end (points are sparse)."""
    ordered = sorted(points)
    index = 0
    current: Value | None = None
    values: list[Value | None] = []
    for item in seconds:
        while index < len(ordered) and ordered[index][0] < item.epoch + 1:
            current = ordered[index][1]
            index += 1
        values.append(current)
    return values


def add_observed_replicas(seconds: list[Second], readings: list[ReplicaReading]) -> None:
    """Give each second the latest replica count read at or before it (readings are sparse)."""
    for item, count in zip(seconds, latest_at(seconds, [(reading.epoch, reading.replicas) for reading in readings]), strict=True):
        item.replicas = count


@dataclass(frozen=True)
class ScaleOut:
    start_replicas: int
    peak_replicas: int
    # Seconds from the start of load until the count first rose above its starting value.
    seconds_to_scale_out: int | None
    seconds_to_peak: int | None


def scale_out(seconds: list[Second], observed: bool = True) -> ScaleOut | None:
    """Summarise the replica curve: start, peak, and how long after load started it rose."""
    counts = [(item.second, item.replicas if observed else item.model_replicas) for item in seconds]
    values = [(second, count) for second, count in counts if count is not None]
    if not values:
        return None
    start = values[0][1]
    peak = max(count for _, count in values)
    first_rise = next((second for second, count in values if count > start), None)
    first_peak = next(second for second, count in values if count == peak)
    return ScaleOut(start, peak, first_rise, first_peak if peak > start else None)
