"""The KEDA line of the report: the ScaledObject's query value at each second (measured on Prometheus)
and the replicas KEDA would ask for at that value (modelled), in timeline.csv, summary.json and the picture."""

import csv
import json

from prediris_ops.kubernetes.trigger import trigger_query
from prediris_ops.load.keda import QueryReading, QueryWatcher, add_keda
from prediris_ops.load.replicas import ScaleRule
from prediris_ops.load.report import summary_lines, write_report
from prediris_ops.load.results import SAMPLES_FILE, Second, read_samples, timeline
from prediris_ops.load.run import analyse
from prediris_ops.load.taurus import Load
from tests.load.test_report import CRITERIA, options
from tests.support.tools import free_port


def seconds(count: int) -> list[Second]:
    return [Second(n, 1_000 + n, 100, 0, 50, 1, 2, 3, 4, 5.0) for n in range(count)]


def test_each_second_gets_the_latest_poll_and_the_bounded_ceiling_of_it():
    timeline_ = seconds(6)
    readings = [QueryReading(1_000.2, 0.0), QueryReading(1_002.5, 31.0), QueryReading(1_004.9, 250.0)]
    add_keda(timeline_, readings, ScaleRule(concurrent_requests=10, min_replicas=1, max_replicas=10))
    assert [item.keda_value for item in timeline_] == [0.0, 0.0, 31.0, 31.0, 250.0, 250.0]
    # ceil(31 / 10) = 4; 250 would need 25, held at max 10; 0 is held at min 1.
    assert [item.keda_replicas for item in timeline_] == [1, 1, 4, 4, 10, 10]


def test_a_second_before_the_first_poll_has_no_value():
    timeline_ = seconds(2)
    add_keda(timeline_, [QueryReading(1_001.5, 12.0)], ScaleRule(10, 0, 10))
    assert [(item.keda_value, item.keda_replicas) for item in timeline_] == [(None, None), (12.0, 2)]


def test_a_prometheus_that_does_not_answer_is_a_problem_kept_not_raised():
    watcher = QueryWatcher(f"http://127.0.0.1:{free_port()}", trigger_query())
    watcher.take()
    assert watcher.readings == []
    assert len(watcher.problems) == 1 and "Connection refused" in watcher.problems[0]


def test_the_report_records_and_draws_the_keda_line_beside_the_http_rule_model(captured):
    folder = captured("jmeter-pass")
    first = timeline(read_samples(folder / "taurus" / SAMPLES_FILE))[0].epoch
    watcher = QueryWatcher("http://127.0.0.1:9", trigger_query())
    watcher.readings.extend([QueryReading(first + 0.5, 3.0), QueryReading(first + 2.5, 14.0)])
    report = analyse(options(folder, keda=watcher), "predict", Load(5, 1, 4), CRITERIA)
    write_report(report, folder)

    keda = json.loads((folder / "summary.json").read_text())["replicas"]["keda"]
    assert keda["query"] == trigger_query()
    assert (keda["threshold"], keda["min_replicas"], keda["max_replicas"]) == (10, 1, 10)
    assert (keda["polls"], keda["failed_polls"], keda["peak_value"], keda["peak_replicas"]) == (2, 0, 14.0, 2)
    assert "measured" in keda["note"] and "modelled" in keda["note"]
    with open(folder / "timeline.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [(row["keda_value"], row["keda_replicas"]) for row in rows[:4]] == [("3.0", "1"), ("3.0", "1"), ("14.0", "2"), ("14.0", "2")]
    assert any(
        line.startswith("  KEDA (modelled on the ScaledObject's query, 2 Prometheus polls): peak value 14.0")
        for line in summary_lines(report, folder)
    )
    assert (folder / "report.png").stat().st_size > 10_000
