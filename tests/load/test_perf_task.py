"""`invoke perf` with a MockContext: the exact bzt command, the report, the verdict and its exit."""

import shlex
import shutil
import sys
from pathlib import Path

import pytest
from invoke import MockContext, Result
from invoke.exceptions import Exit

from prediris_ops.core.paths import ROOT
from prediris_ops.tasks import perf
from tests.load.conftest import DATA
from tests.support.config import project_config


def context(tmp_path, jmeter_home, **perf_settings):
    config = project_config(
        perf={"reports": str(tmp_path / "reports"), "jmeter_home": str(jmeter_home), "progress_every": 0.05, **perf_settings}
    )
    return MockContext(config=config, run={}, repeat=True)


def fake_bzt(captured: str, status: int, kpi_from: str = "jmeter-pass"):
    """Play bzt: copy real Taurus output into the artifacts folder the overrides name; answer `status`."""

    def run(command, **kwargs):
        overrides = Path(shlex.split(command)[-1])
        artifacts = overrides.parent / "taurus"
        shutil.copytree(DATA / captured, artifacts)
        shutil.copy(DATA / kpi_from / "kpi.jtl", artifacts / "kpi.jtl")
        return Result(command=command, exited=status)

    return run


def only_report(tmp_path) -> Path:
    [folder] = (tmp_path / "reports").iterdir()
    return folder


def test_perf_runs_bzt_on_the_profile_and_the_generated_overrides(tmp_path, jmeter_home, capsys):
    c = context(tmp_path, jmeter_home)
    c.run.side_effect = fake_bzt("jmeter-pass", 0)
    # Durations as Taurus users write them: units, or bare seconds.
    perf.perf(c, concurrency="5", ramp_up="1s", hold="4", target="http://127.0.0.1:8123/")
    folder = only_report(tmp_path)
    command = shlex.join([sys.executable, "-m", "bzt", "-q", str(ROOT / "perf/predict.yml"), str(folder / "taurus-overrides.yml")])
    c.run.assert_called_once_with(command, warn=True, hide=False, env={}, pty=False, in_stream=False)
    assert {path.name for path in folder.iterdir()} == {"taurus", "taurus-overrides.yml", "summary.json", "timeline.csv", "report.png"}
    out = capsys.readouterr().out
    assert f"JMeter: {jmeter_home} (from perf.jmeter_home)" in out
    assert "load test: predict profile with jmeter, 5 users (ramp-up 1 s, hold 4 s) against http://127.0.0.1:8123" in out
    assert "    ok   p95 latency ≤ 500ms over every 2 s window" in out
    overrides = (folder / "taurus-overrides.yml").read_text()
    assert "default-address: http://127.0.0.1:8123\n" in overrides
    assert f"path: {jmeter_home}/bin/jmeter\n" in overrides


def test_a_breached_slo_fails_the_task_with_one_line_and_bzt_status_3(tmp_path, jmeter_home):
    c = context(tmp_path, jmeter_home)
    c.run.side_effect = fake_bzt("jmeter-breach", 3)
    with pytest.raises(Exit) as raised:
        perf.perf(c, concurrency="5", ramp_up="1", hold="4", max_p95_ms="1", target="http://127.0.0.1:8123")
    folder = only_report(tmp_path)
    assert raised.value.code == 3
    assert raised.value.message == f"SLO breached: p95 latency ≤ 1ms over every 2 s window — see {folder / 'report.png'}"
    assert (folder / "report.png").is_file(), "a failed run still leaves its report"


def test_a_breach_taurus_saw_too_late_to_stop_still_fails_the_task(tmp_path, jmeter_home):
    c = context(tmp_path, jmeter_home)
    c.run.side_effect = fake_bzt("jmeter-breach", 0)  # as captured: triggered in the last second, bzt said 0
    with pytest.raises(Exit, match="SLO breached: p95 latency"):
        perf.perf(c, concurrency="5", ramp_up="1", hold="4", max_p95_ms="1", target="http://127.0.0.1:8123")


def test_a_broken_run_is_not_mistaken_for_a_verdict(tmp_path, jmeter_home):
    c = context(tmp_path, jmeter_home)
    c.run.return_value = Result(exited=1)
    with pytest.raises(Exit, match=r"bzt failed with status 1 \(not an SLO verdict\): see .*/taurus/bzt.log"):
        perf.perf(c, target="http://127.0.0.1:8123")


def test_the_stress_profile_layers_its_file_over_predict(tmp_path, jmeter_home):
    c = context(tmp_path, jmeter_home)
    c.run.side_effect = fake_bzt("jmeter-pass", 0)
    perf.perf(c, scenario="stress", target="http://127.0.0.1:8123")
    folder = only_report(tmp_path)
    command = shlex.join(
        [
            sys.executable,
            "-m",
            "bzt",
            "-q",
            str(ROOT / "perf/predict.yml"),
            str(ROOT / "perf/stress.yml"),
            str(folder / "taurus-overrides.yml"),
        ]
    )
    c.run.assert_called_once_with(command, warn=True, hide=False, env={}, pty=False, in_stream=False)
    assert "steps: 8\n" in (folder / "taurus-overrides.yml").read_text()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scenario": "soak"}, "no load profile 'soak': choose one of predict, stress"),
        ({"concurrency": "lots"}, "--concurrency='lots' is not an integer"),
        ({"hold": "0"}, r"concurrency and hold must be at least 1"),
        ({"ramp_up": "2x"}, r"--ramp-up='2x' is not a duration: a number of seconds, or e.g. 30s, 1m30s"),
    ],
    ids=["unknown-profile", "not-a-number", "no-hold", "not-a-duration"],
)
def test_bad_options_stop_with_one_line_before_anything_starts(tmp_path, jmeter_home, options, message):
    c = context(tmp_path, jmeter_home)
    with pytest.raises(Exit, match=message) as raised:
        perf.perf(c, target="http://127.0.0.1:8123", **options)
    assert raised.value.code == 2
    assert not (tmp_path / "reports").exists()
    c.run.assert_not_called()
