"""SLO criteria: Taurus's strings parsed and written back, overrides, windows that fit, the verdict."""

import pytest

from prediris_ops.core.errors import OpsError
from prediris_ops.load.slo import Criterion, SloOverrides, apply_overrides, fit_windows, parse_criterion, read_verdict

PROFILE = [
    "error ratio: fail>1% over 10s, stop as failed",
    "p95 latency: p95>500ms over 10s, stop as failed",
    "p99 latency: p99>1000ms over 10s, continue as non-failed",
]


def test_a_criterion_is_read_and_written_back_identically():
    for text in PROFILE:
        assert parse_criterion(text).to_taurus() == text


def test_a_criterion_says_its_objective_in_words():
    assert parse_criterion(PROFILE[1]).describe() == "p95 latency ≤ 500ms over every 10 s window"
    assert parse_criterion("hits: hits<10, stop as failed").describe() == "hits ≥ 10 over the whole run"


def test_overrides_replace_thresholds_and_windows_and_keep_the_actions():
    criteria = apply_overrides(map(parse_criterion, PROFILE), SloOverrides(max_error_percent=0.5, max_p99_ms=800, window_seconds=20))
    assert [item.to_taurus() for item in criteria] == [
        "error ratio: fail>0.5% over 20s, stop as failed",
        "p95 latency: p95>500ms over 20s, stop as failed",
        "p99 latency: p99>800ms over 20s, continue as non-failed",
    ]


def test_an_override_the_profile_lacks_becomes_a_new_criterion():
    criteria = apply_overrides([parse_criterion(PROFILE[0])], SloOverrides(max_p95_ms=250))
    assert criteria[-1].to_taurus() == "p95 latency: p95>250ms over 10s, stop as failed"


def test_windows_too_long_for_the_test_are_shortened_so_a_breach_is_still_judged():
    criteria, note = fit_windows(map(parse_criterion, PROFILE), test_seconds=12)
    assert {item.window_seconds for item in criteria} == {6}
    assert note == "SLO windows of 10 s are too long for a 12 s test: judging over 6 s windows"
    unchanged, none = fit_windows(map(parse_criterion, PROFILE), test_seconds=40)
    assert [item.window_seconds for item in unchanged] == [10, 10, 10] and none is None


def test_the_verdict_of_a_run_that_passed(captured):
    criteria, _ = fit_windows(map(parse_criterion, PROFILE), 4)
    judgements = read_verdict(captured("jmeter-pass") / "taurus" / "slo.xml", criteria)
    assert [item.breached for item in judgements] == [False, False, False]


def test_the_verdict_names_the_breached_criterion(captured):
    criteria = [
        parse_criterion(text)
        for text in (
            "error ratio: fail>1% over 2s, stop as failed",
            "p95 latency: p95>1ms over 2s, stop as failed",
            "p99 latency: p99>1000ms over 2s, stop as failed",
        )
    ]
    judgements = read_verdict(captured("jmeter-breach") / "taurus" / "slo.xml", criteria)
    assert [(item.criterion.name, item.breached) for item in judgements] == [
        ("error ratio", False),
        ("p95 latency", True),
        ("p99 latency", False),
    ]
    assert judgements[1].message == "Failed: p95 latency"


def test_a_report_that_does_not_match_the_criteria_stops_with_one_line(captured):
    folder = captured("jmeter-pass")
    with pytest.raises(OpsError, match="Taurus judged 3 criteria, 1 were given"):
        read_verdict(folder / "taurus" / "slo.xml", [Criterion("x", "fail", ">", "1%", "over", 2, True, True)])
    with pytest.raises(OpsError, match="Taurus wrote no readable pass/fail report"):
        read_verdict(folder / "missing.xml", [])
