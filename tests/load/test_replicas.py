"""Replicas: the model of Azure's HTTP scale rule, and merging polled counts into the timeline."""

import threading

import pytest
from azure.core.exceptions import AzureError, ServiceRequestError

from prediris_ops.load.replicas import ReplicaReading, ReplicaWatcher, ScaleRule, add_modelled_replicas, add_observed_replicas, scale_out
from prediris_ops.load.results import Second


@pytest.mark.parametrize(
    ("in_flight", "desired"),
    [(0, 1), (0.4, 1), (10, 1), (10.01, 2), (35, 4), (99.99, 10), (250, 10)],
)
def test_desired_replicas_is_ceil_of_concurrent_requests_over_the_target_within_bounds(in_flight, desired):
    assert ScaleRule(concurrent_requests=10, min_replicas=1, max_replicas=10).desired(in_flight) == desired


def test_a_rule_with_min_zero_scales_to_zero_without_load():
    rule = ScaleRule(concurrent_requests=5, min_replicas=0, max_replicas=3)
    assert [rule.desired(value) for value in (0, 1, 5, 6, 100)] == [0, 1, 1, 2, 3]


def seconds_of(in_flight):
    return [Second(n, 1_000 + n, 100, 0, 50, 1, 2, 3, 4, value) for n, value in enumerate(in_flight)]


def test_the_model_gives_every_second_its_replicas_and_the_summary_its_peak():
    seconds = seconds_of([3, 12, 25, 41, 38])
    add_modelled_replicas(seconds, ScaleRule(10, 1, 10))
    assert [item.model_replicas for item in seconds] == [1, 2, 3, 5, 4]
    assert scale_out(seconds, observed=False).peak_replicas == 5


def test_sparse_readings_fill_the_seconds_that_follow_them():
    seconds = seconds_of([1] * 8)
    readings = [ReplicaReading(995.0, 1), ReplicaReading(1_002.5, 3), ReplicaReading(1_005.0, 5)]
    add_observed_replicas(seconds, readings)
    assert [item.replicas for item in seconds] == [1, 1, 3, 3, 3, 5, 5, 5]
    assert scale_out(seconds) == scale_out(seconds, observed=True)
    summary = scale_out(seconds)
    assert (summary.start_replicas, summary.peak_replicas, summary.seconds_to_scale_out, summary.seconds_to_peak) == (1, 5, 2, 5)


def test_without_readings_there_is_nothing_to_summarise():
    assert scale_out(seconds_of([1, 2])) is None


def test_the_watcher_polls_until_stopped_and_survives_a_failed_poll():
    counts = iter([1, 2, ServiceRequestError("connection reset"), 4, 5, 6, 7, 8])
    polled = threading.Event()

    def read():
        value = next(counts)
        if isinstance(value, Exception):
            raise value
        if value >= 4:
            polled.set()
        return value

    with ReplicaWatcher(read, every_seconds=0.01, transient=(AzureError, OSError)) as watcher:
        assert polled.wait(10)
    values = [reading.replicas for reading in watcher.readings]
    assert values[:3] == [1, 2, 4]
    assert watcher.problems == ["ServiceRequestError: connection reset"]
