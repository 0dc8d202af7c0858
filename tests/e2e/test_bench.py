"""`invoke bench` end to end, shortened: three real servers, real wrk, a table and a JSON report."""

import json

import pytest

from prediris_ops.load.bench import BenchConfig, format_table, run_bench
from tests.support.tools import require_program

pytestmark = [pytest.mark.e2e, pytest.mark.alone]


def test_a_short_bench_measures_every_server_and_writes_its_report(model_dir, tmp_path):
    wrk = require_program("wrk", "Debian: apt-get install wrk")
    config = BenchConfig(
        model_dir=str(model_dir),
        out_dir=tmp_path / "bench",
        duration=1,
        warmup=0,
        connections=8,
        memory_requests=500,
        wrk=wrk,
        variants={"prediris[drift_metrics=false]": {"drift_metrics": "false"}},
    )
    lines = []
    report = run_bench(config, progress=lines.append)
    points = {(point.subject, point.connections, point.rows_per_request): point for point in report.points}
    assert set(points) == {
        ("constant", 8, 1),
        ("constant", 1, 1),
        ("fastapi", 8, 1),
        ("fastapi", 1, 1),
        ("prediris", 8, 1),
        ("prediris", 1, 1),
        ("prediris", 8, 100),
        # An A/B variant serves the same load as prediris, batches included.
        ("prediris[drift_metrics=false]", 8, 1),
        ("prediris[drift_metrics=false]", 1, 1),
        ("prediris[drift_metrics=false]", 8, 100),
    }
    for point in report.points:
        assert point.requests > 0
        assert point.errors == 0, point
        assert point.server_rss_mb > 0
    assert points[("prediris", 8, 100)].rows_per_s == pytest.approx(points[("prediris", 8, 100)].requests_per_s * 100, rel=0.01)
    assert set(report.ratios) == {"throughput_vs_constant", "p99_vs_constant", "throughput_vs_fastapi", "idle_p50_over_constant_ms"}
    assert report.memory["requests"] >= 500
    assert report.variants["prediris[drift_metrics=false]"]["req_per_cpu_s_vs_prediris"] > 0
    # The drift counting's microbenchmark, next to what a loaded request costs prediris in CPU time.
    assert 0 < report.drift_counting["one_row_request_us"] < report.drift_counting["hundred_row_request_us"]
    assert 0 < report.drift_counting["share_of_request_cpu"] < 1
    written = json.loads((tmp_path / "bench" / "latest.json").read_text())
    assert written["ratios"] == report.ratios
    assert set(written["verdicts"]) == set(report.ratios)
    assert "throughput_vs_constant" in format_table(report)
