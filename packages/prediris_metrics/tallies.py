"""The series every request moves, counted without a lock: each thread in its own tally.

prometheus_client's `Counter.inc` and `Histogram.observe` take a lock and run several Python calls
each; the four a prediction moved (requests, duration, predictions by class, rows per request) cost
about a quarter of its CPU under load (docs/performance.md). Here a request makes one call: its thread
adds to its own tally (plain dicts and lists, which only that thread writes, so no lock), and a scrape
adds the tallies up through the client's public collector API. A request's duration is tallied by
method, route and status: the request counter is the count of those observations, and the duration
histogram their sum over statuses, so one entry serves both.

A tally is found by thread ident: a thread that ends leaves its counts to the next thread given that
ident, so nothing counted is lost and there are about as many tallies as threads alive at once.
"""

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from threading import get_ident
from typing import NamedTuple

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

Labels = tuple[str, ...]
# A histogram entry (`_entry`): the count of each bucket (value <= bound), then +Inf's own, then the sum.
Entry = list[float]


class Family(NamedTuple):
    """A family's name and help; `buckets` for a histogram."""

    name: str
    documentation: str
    buckets: tuple[float, ...] = ()


class _Tally:
    """One thread's counts."""

    __slots__ = ("classes", "requests", "rows")

    def __init__(self, row_bounds: Sequence[float]) -> None:
        self.requests: dict[Labels, Entry] = {}  # (method, route, status) -> duration histogram entry
        self.classes: dict[str, int] = {}  # class name -> rows predicted
        self.rows: Entry = _entry(row_bounds)  # rows per prediction request


class RequestTallies(Collector):
    """prediris_http_requests_total{method,route,status}, prediris_http_request_duration_seconds{method,route},
    prediris_predictions_total{class_name} and prediris_prediction_rows_per_request, tallied per thread."""

    def __init__(self, requests: Family, duration: Family, predictions: Family, rows: Family):
        self.families = (requests, duration, predictions, rows)
        self._duration_bounds = duration.buckets
        self._row_bounds = rows.buckets
        self._tallies: dict[int, _Tally] = {}
        self._lock = threading.Lock()
        self._prepared_requests: dict[Labels, None] = {}
        self._prepared_classes: dict[str, None] = {}

    def prepare(self, requests: Iterable[Labels] = (), classes: Iterable[str] = ()) -> None:
        """Expose these (method, route, status) and class series at zero until they are counted."""
        self._prepared_requests.update(dict.fromkeys(requests))
        self._prepared_classes.update(dict.fromkeys(classes))

    def _tally(self) -> _Tally:
        with self._lock:
            return self._tallies.setdefault(get_ident(), _Tally(self._row_bounds))

    def record_request(self, method: str, route: str, status: str, seconds: float) -> None:
        """Count an answered request and its duration."""
        tally = self._tallies.get(get_ident()) or self._tally()
        entry = tally.requests.get((method, route, status))
        if entry is None:
            entry = tally.requests[(method, route, status)] = _entry(self._duration_bounds)
        entry[bisect_left(self._duration_bounds, seconds)] += 1
        entry[-1] += seconds

    def record_predictions(self, class_counts: Iterable[tuple[str, int]], rows: int) -> None:
        """Count a successful prediction request: its `rows`, and the rows predicted per class name."""
        tally = self._tallies.get(get_ident()) or self._tally()
        classes = tally.classes
        for name, count in class_counts:
            classes[name] = classes.get(name, 0) + count
        entry = tally.rows
        entry[bisect_left(self._row_bounds, rows)] += 1
        entry[-1] += rows

    def _empty(self) -> tuple[CounterMetricFamily, HistogramMetricFamily, CounterMetricFamily, HistogramMetricFamily]:
        requests, duration, predictions, rows = self.families
        return (
            CounterMetricFamily(requests.name, requests.documentation, labels=("method", "route", "status")),
            HistogramMetricFamily(duration.name, duration.documentation, labels=("method", "route")),
            CounterMetricFamily(predictions.name, predictions.documentation, labels=("class_name",)),
            HistogramMetricFamily(rows.name, rows.documentation),
        )

    def describe(self) -> Iterable[Metric]:
        return self._empty()

    def collect(self) -> Iterator[Metric]:
        requests_family, durations_family, predictions_family, rows_family = self._empty()
        tallies = list(self._tallies.values())
        by_status = {labels: _entry(self._duration_bounds) for labels in self._prepared_requests}
        classes = dict.fromkeys(self._prepared_classes, 0)
        rows = _entry(self._row_bounds)
        for tally in tallies:
            for labels, entry in dict(tally.requests).items():
                _add(by_status.setdefault(labels, _entry(self._duration_bounds)), entry)
            for name, count in dict(tally.classes).items():
                classes[name] = classes.get(name, 0) + count
            _add(rows, tally.rows)
        by_route: dict[Labels, Entry] = {}
        for (method, route, status), entry in by_status.items():
            requests_family.add_metric((method, route, status), sum(entry[:-1]))
            _add(by_route.setdefault((method, route), _entry(self._duration_bounds)), entry)
        for labels, entry in by_route.items():
            _add_histogram(durations_family, labels, self._duration_bounds, entry)
        for name, count in classes.items():
            predictions_family.add_metric((name,), count)
        _add_histogram(rows_family, (), self._row_bounds, rows)
        yield from (requests_family, durations_family, predictions_family, rows_family)


def _entry(bounds: Sequence[float]) -> Entry:
    """An empty histogram entry for these bucket bounds."""
    return [0.0] * (len(bounds) + 2)


def _add(total: Entry, entry: Sequence[float]) -> None:
    for index, value in enumerate(list(entry)):
        total[index] += value


def _add_histogram(family: HistogramMetricFamily, labels: Labels, bounds: Sequence[float], entry: Entry) -> None:
    cumulative, buckets = 0.0, []
    for bound, count in zip([*(repr(float(bound)) for bound in bounds), "+Inf"], entry[:-1], strict=True):
        cumulative += count
        buckets.append((bound, cumulative))
    family.add_metric(labels, buckets, entry[-1])
