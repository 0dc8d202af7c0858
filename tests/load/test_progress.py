"""Progress lines, read from a samples log as it grows."""

import threading

from prediris_ops.load.periodic import Periodic
from prediris_ops.load.progress import Progress, clock
from prediris_ops.load.results import read_samples
from tests.load.conftest import DATA


def test_clock_reads_minutes_and_seconds():
    assert [clock(value) for value in (0, 9.9, 61, 600)] == ["0:00", "0:09", "1:01", "10:00"]


def test_each_tick_reports_the_new_samples_and_the_totals_so_far(tmp_path):
    source = (DATA / "jmeter-pass" / "kpi.jtl").read_text().splitlines(keepends=True)
    samples = read_samples(DATA / "jmeter-pass" / "kpi.jtl")
    start = min(sample.timestamp_ms for sample in samples) / 1000
    path = tmp_path / "kpi.jtl"
    said = []
    progress = Progress(path, total_seconds=5, every=2, say=said.append)
    assert progress.tick(start) is None, "nothing yet: JMeter is starting"
    path.write_text("".join(source[:401]))
    first = progress.tick(start + 2.4)
    assert first.startswith("  0:02 / 0:05  users    5    200.0 req/s  p95 ")
    assert first.endswith("requests     400  errors 0 (0.00%)")
    with open(path, "a") as stream:
        stream.writelines(source[401:])
    second = progress.tick(start + 4.9)
    assert second.startswith("  0:04 / 0:05  users ")
    assert second.endswith("requests    1049  errors 0 (0.00%)")
    assert said == [first, second]


def test_periodic_runs_its_action_at_start_every_period_and_at_exit():
    calls = []
    twice = threading.Event()

    def action():
        calls.append(len(calls))
        if len(calls) >= 3:
            twice.set()

    with Periodic(action, 0.01, at_start=True, at_exit=True):
        assert twice.wait(10)
    count = len(calls)
    assert count >= 4, "at start, at least twice while running, and at exit"
