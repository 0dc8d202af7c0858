"""The profiles in perf/ and the configuration the task layers over them."""

import sys
from pathlib import Path

import pytest

from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from prediris_ops.load.jmeter import JMeterChoice
from prediris_ops.load.slo import parse_criterion
from prediris_ops.load.taurus import Load, bzt_argv, load_profile, merged_config, overrides, write_overrides


def test_the_predict_profile_loads_jmeter_with_its_slo():
    profile = load_profile(ROOT, "predict")
    assert profile.files == [Path("perf/predict.yml")]
    assert profile.load == Load(concurrency=50, ramp_up_seconds=10, hold_seconds=30)
    assert [item.to_taurus() for item in profile.criteria] == [
        "error ratio: fail>1% over 10s, stop as failed",
        "p95 latency: p95>500ms over 10s, stop as failed",
        "p99 latency: p99>1000ms over 10s, stop as failed",
    ]


def test_the_stress_profile_steps_the_predict_requests_up():
    profile = load_profile(ROOT, "stress")
    assert profile.files == [Path("perf/predict.yml"), Path("perf/stress.yml")]
    assert profile.load.steps == 8 and profile.load.concurrency == 160
    assert len(profile.config["execution"]) == 1, "stress replaces the execution, it does not add one"
    assert profile.config["scenarios"]["predict"]["requests"][0]["url"] == "/predict"
    assert not profile.criteria[1].fail, "past the knee, latency breaches are recorded, not failures"


def test_an_unknown_profile_names_the_ones_there_are():
    with pytest.raises(OpsError, match="no load profile 'soak': choose one of predict, stress"):
        load_profile(ROOT, "soak")


def overrides_for(tmp_path, **changes) -> dict:
    """The generated configuration for the predict profile, with these arguments changed."""
    arguments = {
        "root": ROOT,
        "profile": load_profile(ROOT, "predict"),
        "executor": "jmeter",
        "target": "http://127.0.0.1:8123",
        "load": Load(100, 5, 20),
        "criteria": [parse_criterion("p95 latency: p95>250ms over 5s, stop as failed")],
        "report_dir": tmp_path,
        "jmeter": JMeterChoice(Path("/opt/jmeter"), "JMETER_HOME"),
    }
    return overrides(**{**arguments, **changes})


def test_the_overrides_point_taurus_at_the_run_and_merge_like_taurus(tmp_path):
    path = write_overrides(tmp_path, overrides_for(tmp_path))
    effective = merged_config(ROOT, [Path("perf/predict.yml"), path])
    assert effective["settings"]["check-updates"] is False
    assert effective["settings"]["artifacts-dir"] == str(tmp_path / "taurus")
    assert effective["modules"]["jmeter"] == {"detect-plugins": False, "path": "/opt/jmeter/bin/jmeter"}
    assert effective["execution"] == [{"executor": "jmeter", "scenario": "predict", "concurrency": 100, "ramp-up": "5s", "hold-for": "20s"}]
    scenario = effective["scenarios"]["predict"]
    assert scenario["default-address"] == "http://127.0.0.1:8123"
    assert scenario["data-sources"][0]["path"] == str(ROOT / "perf/data/predict-requests.csv")
    assert scenario["data-sources"][0]["quoted"] is True, "the profile's other data-source settings stay"
    assert [module["module"] for module in effective["reporting"]] == ["passfail", "final-stats", "junit-xml"]
    assert effective["reporting"][0]["criteria"] == ["p95 latency: p95>250ms over 5s, stop as failed"]


def test_taurus_keeps_its_own_jmeter_when_asked(tmp_path):
    assert "path" not in overrides_for(tmp_path, jmeter=JMeterChoice(None, "Taurus"))["modules"]["jmeter"]


def test_bzt_runs_quietly_with_this_python():
    assert bzt_argv([Path("/r/perf/predict.yml")], Path("/r/build/o.yml")) == [
        sys.executable,
        "-m",
        "bzt",
        "-q",
        "/r/perf/predict.yml",
        "/r/build/o.yml",
    ]
