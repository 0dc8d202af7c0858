"""The report folder, built from Taurus output captured from real runs."""

import csv
import json
import shutil
from pathlib import Path

import matplotlib.image

from prediris_ops.core.paths import ROOT
from prediris_ops.load.replicas import ReplicaReading, ScaleRule
from prediris_ops.load.report import shown_target, summary_lines, write_report
from prediris_ops.load.results import read_samples
from prediris_ops.load.run import PerfOptions, analyse
from prediris_ops.load.slo import parse_criterion
from prediris_ops.load.taurus import Load
from tests.load.conftest import DATA

CRITERIA = [
    parse_criterion("error ratio: fail>1% over 2s, stop as failed"),
    parse_criterion("p95 latency: p95>500ms over 2s, stop as failed"),
    parse_criterion("p99 latency: p99>1000ms over 2s, stop as failed"),
]


def options(folder: Path, **extra) -> PerfOptions:
    return PerfOptions(
        root=ROOT,
        profile="predict",
        executor="jmeter",
        target="http://127.0.0.1:8123",
        report_dir=folder,
        rule=ScaleRule(10, 1, 10),
        **extra,
    )


def test_a_passed_run_writes_summary_timeline_and_picture(captured):
    folder = captured("jmeter-pass")
    report = analyse(options(folder), "predict", Load(5, 1, 4), CRITERIA)
    paths = write_report(report, folder)
    assert [path.name for path in paths] == ["summary.json", "timeline.csv", "report.png"]

    summary = json.loads((folder / "summary.json").read_text())
    assert summary["summary"]["requests"] == 1049
    assert summary["slo"]["passed"] is True
    assert [item["objective"] for item in summary["slo"]["criteria"]] == [
        "error ratio ≤ 1% over every 2 s window",
        "p95 latency ≤ 500ms over every 2 s window",
        "p99 latency ≤ 1000ms over every 2 s window",
    ]
    assert summary["replicas"]["source"] == "model"
    assert summary["replicas"]["note"] == "model of Azure's HTTP rule: ceil(in-flight / 10), 1–10 replicas"

    with open(folder / "timeline.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert sum(int(row["requests"]) for row in rows) == 1049
    assert all(row["model_replicas"] == "1" for row in rows), "5 users never need a second replica at 10 each"
    assert {row["replicas"] for row in rows} == {""}, "nothing was observed locally"

    picture = matplotlib.image.imread(folder / "report.png")
    assert picture.shape[0] > 800 and picture.shape[1] > 1000


def test_the_printed_summary_is_a_table_with_the_verdict(captured):
    folder = captured("jmeter-pass")
    report = analyse(options(folder), "predict", Load(5, 1, 4), CRITERIA)
    lines = summary_lines(report, folder)
    header = lines.index("  requests  throughput   errors         p50      p90      p95      p99      max")
    assert lines[header + 1].split() == ["1,049", "209.8/s", "0", "0.00%", "14", "ms", "35", "ms", "47", "ms", "70", "ms", "184", "ms"]
    assert "    ok   p95 latency ≤ 500ms over every 2 s window" in lines
    assert lines[-1].startswith(f"  report: {folder}/ (report.png")


def test_a_breach_is_named_in_the_summary_and_the_json(captured):
    folder = captured("jmeter-breach")
    shutil.copy(DATA / "jmeter-pass" / "kpi.jtl", folder / "taurus" / "kpi.jtl")
    criteria = [CRITERIA[0], parse_criterion("p95 latency: p95>1ms over 2s, stop as failed"), CRITERIA[2]]
    report = analyse(options(folder), "predict", Load(5, 1, 4), criteria)
    write_report(report, folder)
    assert not report.passed
    assert "    FAIL p95 latency ≤ 1ms over every 2 s window" in summary_lines(report, folder)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["slo"]["passed"] is False
    assert [item["breached"] for item in summary["slo"]["criteria"]] == [False, True, False]


class Readings:
    """A stand-in for a ReplicaWatcher that already ran: its readings and problems."""

    def __init__(self, readings, problems=()):
        self.readings = readings
        self.problems = list(problems)


def test_observed_replicas_go_into_the_timeline_and_the_summary(captured):
    folder = captured("jmeter-pass")
    start = min(sample.timestamp_ms for sample in read_samples(DATA / "jmeter-pass" / "kpi.jtl")) // 1000
    watcher = Readings(
        [ReplicaReading(start - 3, 1), ReplicaReading(start + 2.2, 2), ReplicaReading(start + 3.5, 3)], ["HttpResponseError: throttled"]
    )
    report = analyse(options(folder, watcher=watcher), "predict", Load(5, 1, 4), CRITERIA)
    write_report(report, folder)
    with open(folder / "timeline.csv") as stream:
        observed = [row["replicas"] for row in csv.DictReader(stream)]
    assert observed[:5] == ["1", "1", "2", "3", "3"]
    lines = summary_lines(report, folder)
    assert "  replicas (Azure): 1 at start, peak 3; first scale-out 2 s after load started" in lines
    assert "  note: 1 replica polls failed, first: HttpResponseError: throttled" in lines
    assert json.loads((folder / "summary.json").read_text())["replicas"]["peak_replicas"] == 3


def test_the_pictures_title_names_the_target_without_a_throwaway_local_port():
    assert shown_target("http://127.0.0.1:57473") == "a local API"
    assert shown_target("http://localhost:5000") == "a local API"
    assert shown_target("https://prediris.happyrock-1.francecentral.azurecontainerapps.io") == (
        "prediris.happyrock-1.francecentral.azurecontainerapps.io"
    )
