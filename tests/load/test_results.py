"""Reading what Taurus measured: real samples logs and final statistics captured from runs."""

import csv

import pytest

from prediris_ops.core.errors import OpsError
from prediris_ops.load.results import SamplesLog, Second, Step, knee, read_samples, read_summary, steps, timeline
from tests.load.conftest import DATA


def test_the_summary_is_taurus_final_statistics_in_milliseconds():
    summary = read_summary(DATA / "jmeter-pass")
    assert (summary.requests, summary.failures, summary.error_percent) == (1049, 0, 0.0)
    assert summary.duration_seconds == 5.0
    assert summary.throughput_rps == 209.8
    assert (summary.p50_ms, summary.p90_ms, summary.p95_ms, summary.p99_ms, summary.max_ms) == (14.0, 35.0, 47.0, 70.0, 184.0)


def test_the_samples_log_holds_every_request_of_the_summary():
    samples = read_samples(DATA / "jmeter-pass" / "kpi.jtl")
    assert len(samples) == read_summary(DATA / "jmeter-pass").requests
    assert all(sample.success for sample in samples)
    assert max(sample.users for sample in samples) == 5


def test_a_growing_log_is_read_in_whole_lines_only(tmp_path):
    source = (DATA / "jmeter-pass" / "kpi.jtl").read_text()
    path = tmp_path / "kpi.jtl"
    log = SamplesLog(path)
    assert log.read_new() == []
    cut = source.index("\n", len(source) // 2) + 20  # in the middle of a line
    path.write_text(source[:cut])
    first = log.read_new()
    with open(path, "a") as stream:
        stream.write(source[cut:])
    second = log.read_new()
    assert len(first) + len(second) == 1049
    assert first + second == read_samples(DATA / "jmeter-pass" / "kpi.jtl")


def test_the_timeline_has_one_row_per_second_that_adds_up_to_the_run():
    samples = read_samples(DATA / "jmeter-pass" / "kpi.jtl")
    seconds = timeline(samples)
    assert [item.second for item in seconds] == list(range(len(seconds)))
    assert sum(item.requests for item in seconds) == 1049
    assert sum(item.errors for item in seconds) == 0
    busiest = max(seconds, key=lambda item: item.requests)
    assert busiest.p50_ms <= busiest.p95_ms <= busiest.p99_ms <= busiest.max_ms
    # Little's law: with 5 users and no think time, about 5 requests are in flight once ramped up.
    assert 2 < busiest.in_flight <= 5.5


def test_missing_final_statistics_stop_with_one_line(tmp_path):
    with pytest.raises(OpsError, match="Taurus left no final statistics in .*see bzt.log"):
        read_summary(tmp_path)


def second(number, users, requests, p95, errors=0):
    return Second(number, 1_000 + number, requests, errors, users, p95 / 2, p95, p95 * 1.5, p95 * 2, users)


def test_steps_group_the_seconds_held_at_each_concurrency_level():
    seconds = [second(n, 20, 200, 50) for n in range(5)] + [second(n, 40, 390, 80) for n in range(5, 10)] + [second(10, 60, 10, 999)]
    levels = steps(seconds)
    assert [(step.users, step.seconds, step.throughput_rps, step.p95_ms) for step in levels] == [(20, 4, 200.0, 50.0), (40, 4, 390.0, 80.0)]


@pytest.mark.parametrize(
    ("throughputs", "errors", "knee_at"),
    [
        ([200, 390, 560, 580, 585], [0, 0, 0, 0, 0], 60),  # flat after 60 users
        ([200, 390, 560, 700, 840], [0, 0, 0, 0, 0], None),  # still scaling
        ([200, 390, 560, 700, 840], [0, 0, 3, 9, 20], 40),  # errors start at 60 users
        ([298, 455, 520, 636, 375, 509, 555, 490], [0] * 8, 80),  # a noisy dip does not hide the knee
    ],
    ids=["throughput-flattens", "no-knee-yet", "errors-appear", "noisy"],
)
def test_the_knee_is_where_more_users_stop_buying_throughput(throughputs, errors, knee_at):
    levels = [
        Step(20 * (n + 1), 5, float(rate), 10.0, 20.0, float(error))
        for n, (rate, error) in enumerate(zip(throughputs, errors, strict=True))
    ]
    found = knee(levels)
    assert (found.users if found else None) == knee_at


def test_the_captured_log_has_the_columns_we_read():
    with open(DATA / "jmeter-pass" / "kpi.jtl") as stream:
        header = next(csv.reader(stream))
    assert {"timeStamp", "elapsed", "success", "allThreads"} <= set(header)
