"""What KEDA would ask for during a local load test: the ScaledObject's own query, evaluated against
the real local Prometheus (`invoke observe`) at each poll, then KEDA's rule applied to it.

The query's value is measured (Prometheus's answer); the replica count is modelled: KEDA's
prometheus trigger with metricType AverageValue makes the HPA ask for ceil(value / threshold)
replicas within [minReplicaCount, maxReplicaCount], which is `ScaleRule.desired`. The real KEDA polls
every 15 s and scales in after a 300 s stabilisation window; this line shows neither delay.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from prediris_ops.core.errors import OpsError, OptionError
from prediris_ops.core.localapi import answers
from prediris_ops.kubernetes.trigger import trigger_query
from prediris_ops.load.periodic import Watcher
from prediris_ops.load.replicas import ScaleRule, latest_at
from prediris_ops.load.results import Second
from prediris_ops.observe import prometheus_api
from prediris_ops.observe.prometheus_api import active_targets
from prediris_ops.observe.session import state_path
from prediris_ops.observe.stack import StackState


@dataclass(frozen=True)
class QueryReading:
    epoch: float
    value: float


@dataclass
class QueryWatcher(Watcher):
    """Evaluate `query` on Prometheus every few seconds in a background thread; keep every answer."""

    prometheus_url: str
    query: str
    every_seconds: float = 5.0
    readings: list[QueryReading] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def take(self) -> None:
        """Evaluate the query now and keep its value (no series yet, e.g. before the first scrape, is a problem)."""
        try:
            result = prometheus_api.query(self.prometheus_url, self.query, timeout=5.0)
            if not result:
                self.problems.append("no series: Prometheus has not scraped the API yet")
                return
            self.readings.append(QueryReading(time.time(), float(result[0]["value"][1])))
        except (OpsError, OSError, ValueError) as error:
            # One failed poll must not end the load test; the report says how many failed.
            self.problems.append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")


def add_keda(seconds: list[Second], readings: list[QueryReading], rule: ScaleRule) -> None:
    """Give each second the query's latest value and the replicas KEDA would ask for at that value."""
    values = latest_at(seconds, [(reading.epoch, reading.value) for reading in readings])
    for item, value in zip(seconds, values, strict=True):
        item.keda_value = value
        item.keda_replicas = None if value is None else rule.desired(value)


def keda_summary(watcher: QueryWatcher, seconds: list[Second], rule: ScaleRule) -> dict:
    """Return the `keda` part of summary.json: the query, the rule, and what the polls found."""
    replicas = [item.keda_replicas for item in seconds if item.keda_replicas is not None]
    return {
        "query": watcher.query,
        "prometheus": watcher.prometheus_url,
        "threshold": rule.concurrent_requests,
        "min_replicas": rule.min_replicas,
        "max_replicas": rule.max_replicas,
        "polls": len(watcher.readings),
        "failed_polls": len(watcher.problems),
        "peak_value": max((reading.value for reading in watcher.readings), default=None),
        "peak_replicas": max(replicas, default=None),
        "note": "query value measured on Prometheus at each poll; replicas modelled: ceil(value / threshold) within [min, max]",
    }


def keda_watcher(config: Mapping, prometheus: str | None, target: str) -> QueryWatcher | None:
    """Return a watcher of the ScaledObject's query on `prometheus` (a cluster's, say), else on the Prometheus
    `invoke observe` runs when it scrapes the target; None when there is neither."""
    if prometheus is not None:
        url = prometheus.rstrip("/")
        if not answers(url + "/-/ready"):
            raise OptionError(f"--prometheus {url} does not answer /-/ready: start it with `invoke observe --background`")
    else:
        state = StackState.load(state_path(config))
        if state is None or not answers(state.prometheus_url + "/-/ready"):
            return None
        url = state.prometheus_url
        if not any(item["scrapeUrl"].startswith(target + "/") for item in active_targets(url)):
            print(f"KEDA: no line: {url} does not scrape {target} (`invoke observe --api {urlsplit(target).netloc}` does)", flush=True)
            return None
    every = float(config["perf"]["replica_poll_seconds"])
    watcher = QueryWatcher(url, trigger_query(), every)
    print(f"KEDA: evaluating the ScaledObject's query on {watcher.prometheus_url} every {every:g} s: {watcher.query}", flush=True)
    return watcher
