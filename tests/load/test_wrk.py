"""`invoke bench`'s pieces: the wrk command and script, its report's parsing, the ratios and the table."""

import json

import pytest
from invoke.exceptions import Exit

from prediris_ops.core.errors import OptionError
from prediris_ops.load import bench
from prediris_ops.load.bench import (
    BenchConfig,
    Point,
    Report,
    format_table,
    medians,
    paired_cpu_ratio,
    parse_wrk,
    ratios,
    subjects_of,
    variant,
    verdicts,
    wrk_argv,
    wrk_script,
)
from prediris_ops.tasks.bench import bench as bench_task

# Captured from wrk 4.1.0 (Debian) against a constant server.
WRK_REPORT = """Running 2s test @ http://127.0.0.1:5093/predict
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.39ms    2.27ms  18.25ms   75.09%
    Req/Sec     2.34k   185.01     2.69k    70.00%
  Latency Distribution
     50%    3.89ms
     75%    5.47ms
     90%    7.26ms
     99%   12.38ms
  4675 requests in 2.01s, 1.15MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   2323.92
Transfer/sec:    585.58KB
"""


def test_the_wrk_report_is_parsed_into_figures():
    assert parse_wrk(WRK_REPORT) == {
        "requests": 4675,
        "requests_per_s": 2323.92,
        "p50_ms": 3.89,
        "p99_ms": 12.38,
        "non_2xx": 7,
        "socket_errors": 5,
        "timeouts": 3,
    }


def test_latency_units_are_converted_to_milliseconds():
    report = WRK_REPORT.replace("50%    3.89ms", "50%  812.00us").replace("99%   12.38ms", "99%    1.50s")
    figures = parse_wrk(report)
    assert figures["p50_ms"] == pytest.approx(0.812)
    assert figures["p99_ms"] == pytest.approx(1500.0)


def test_something_that_is_not_a_wrk_report_is_refused():
    with pytest.raises(ValueError, match="not a wrk report"):
        parse_wrk("unable to connect to 127.0.0.1:9 Connection refused")


def test_the_wrk_command_is_one_thread_with_latency_and_a_client_timeout(tmp_path):
    script = tmp_path / "single.lua"
    assert wrk_argv("wrk", "http://127.0.0.1:5000/predict", 100, 10.0, script, 5) == [
        "wrk", "--threads", "1", "--connections", "100", "--duration", "10s", "--timeout", "5s", "--latency",
        "--script", str(script), "http://127.0.0.1:5000/predict",
    ]  # fmt: skip


def test_the_script_posts_the_body_verbatim_even_when_it_holds_lua_brackets():
    body = json.dumps({"X": [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]}).encode()
    script = wrk_script(body)
    assert 'wrk.method = "POST"' in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script
    assert "wrk.body = [=[" + body.decode() + "]=]" in script
    assert "]==]" in wrk_script(b'{"X": "]=]"}')


def test_servers_are_pinned_with_taskset_only_when_there_are_cores_to_separate():
    assert bench.pinned(["wrk", "-c1"], {1}) == ["taskset", "--cpu-list", "1", "wrk", "-c1"]
    assert bench.pinned(["wrk", "-c1"], None) == ["wrk", "-c1"]


def point(subject, connections, rps, p50, p99, rows=1):
    return Point(subject=subject, connections=connections, rows_per_request=rows, duration_s=10, requests_per_s=rps, p50_ms=p50, p99_ms=p99)


POINTS = [
    point("constant", 100, 4000.0, 20.0, 40.0),
    point("constant", 1, 4000.0, 0.25, 0.5),
    point("fastapi", 100, 500.0, 200.0, 400.0),
    point("fastapi", 1, 500.0, 1.9, 3.0),
    point("prediris", 100, 3000.0, 30.0, 70.0),
    point("prediris", 1, 2500.0, 0.4, 0.8),
    point("prediris", 100, 600.0, 150.0, 300.0, rows=100),
]


def test_ratios_compare_points_of_the_same_run_and_are_judged_against_the_targets():
    computed = ratios(POINTS)
    assert computed == {
        "throughput_vs_constant": 0.75,
        "p99_vs_constant": 1.75,
        "throughput_vs_fastapi": 6.0,
        "idle_p50_over_constant_ms": 0.15,
    }
    assert verdicts(computed) == {
        "throughput_vs_constant": True,
        "p99_vs_constant": True,
        "throughput_vs_fastapi": False,
        "idle_p50_over_constant_ms": True,
    }


def test_a_variant_is_judged_by_the_same_ratios_against_the_same_references():
    fast = [*POINTS, point("prediris[threads=4]", 100, 3600.0, 25.0, 50.0), point("prediris[threads=4]", 1, 2500.0, 0.3, 0.6)]
    assert ratios(fast, "prediris[threads=4]") == {
        "throughput_vs_constant": 0.9,
        "p99_vs_constant": 1.25,
        "throughput_vs_fastapi": 7.2,
        "idle_p50_over_constant_ms": 0.05,
    }
    assert ratios(fast) == ratios(POINTS)  # prediris's own ratios ignore its variants


def test_rounds_merge_into_the_median_of_each_figure_and_the_sum_of_errors():
    rounds = [
        [point("constant", 100, 4000.0, 20.0, 40.0)],
        [
            Point(
                subject="constant",
                connections=100,
                rows_per_request=1,
                duration_s=10,
                requests_per_s=1000.0,
                p99_ms=900.0,
                timeouts=2,
                socket_errors=2,
            )
        ],
        [point("constant", 100, 3000.0, 30.0, 50.0)],
    ]
    (merged,) = medians(rounds)
    assert (merged.requests_per_s, merged.p99_ms, merged.p50_ms) == (3000.0, 50.0, 20.0)
    assert (merged.socket_errors, merged.timeouts, merged.errors) == (2, 2, 2)


def test_an_ab_pair_is_compared_round_by_round_so_a_busier_round_cancels_out():
    def loaded(subject, per_cpu_s):
        return Point(subject=subject, connections=100, rows_per_request=1, duration_s=10, requests_per_cpu_s=per_cpu_s)

    rounds = [
        [loaded("prediris", 10_000.0), loaded("prediris[x=1]", 9_000.0)],
        [loaded("prediris", 5_000.0), loaded("prediris[x=1]", 4_750.0)],  # a busy round: both slower
        [loaded("prediris[x=1]", 9_200.0), loaded("prediris", 10_000.0)],
    ]
    assert paired_cpu_ratio(rounds, "prediris[x=1]") == 0.92  # the median of 0.9, 0.95, 0.92
    assert paired_cpu_ratio(rounds, "prediris[y=2]") is None


def test_variants_are_prediris_with_other_settings():
    name, settings = variant("threads=4, access_log=true")
    assert (name, settings) == ("prediris[threads=4,access_log=true]", {"threads": "4", "access_log": "true"})
    config = BenchConfig(model_dir="models", out_dir=None, subjects=("constant",), variants={name: settings})
    constant, extra = subjects_of(config)
    assert constant.name == "constant"
    assert (extra.name, extra.argv, extra.settings) == (name, bench.SUBJECTS["prediris"].argv, settings)


@pytest.mark.parametrize("spec", ["threads", "=4", "threads=", ","])
def test_a_variant_that_is_not_key_value_is_refused_with_an_example(spec):
    with pytest.raises(OptionError, match="threads=4"):
        variant(spec)


def test_a_bad_variant_stops_the_task_with_one_line(make_context):
    with pytest.raises(Exit, match="bench: variant 'threads' is not key=value"):
        bench_task(make_context(), only="prediris", ab=["threads"])


def test_the_table_shows_every_point_the_ratios_and_the_machine():
    report = Report(
        started_at="2026-11-26T09:00:00+00:00",
        machine={"cpu": "Test CPU", "cores": 2, "python": "3.11.7", "load_average": [0.5, 0.5, 0.5]},
        config={},
        points=POINTS,
        ratios=ratios(POINTS),
        memory={"requests": 100000, "rss_at_start_mb": 140.0, "rss_before_mb": 144.0, "rss_after_mb": 144.5},
    )
    table = format_table(report)
    assert table.splitlines()[0].split() == [
        "server",
        "conns",
        "rows",
        "req/s",
        "rows/s",
        "p50",
        "ms",
        "p99",
        "ms",
        "errors",
        "cpu",
        "%",
        "rss",
        "MiB",
        "req/cpu-s",
    ]
    assert "throughput_vs_constant" in table and "target >= 0.25  met" in table
    assert "target >= 12.0  NOT MET" in table
    assert "targets met: 3 of 4" in table
    assert "144.0 MiB -> 144.5 MiB after 100000 requests" in table
    assert "Test CPU, 2 cores" in table


def test_an_unknown_server_stops_the_task_with_one_line(make_context):
    with pytest.raises(Exit, match="bench: unknown server slow; choose from constant, fastapi, prediris"):
        bench_task(make_context(), only="prediris,slow")
