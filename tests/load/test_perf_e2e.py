"""`invoke perf` for real, as a user runs it: Taurus drives JMeter against the real server, briefly."""

import json
import os
import re
import subprocess
import sys

import pytest

from prediris_ops.core.localapi import answers
from prediris_ops.core.paths import ROOT
from tests.load.conftest import served_predictions
from tests.support.servers import running_api
from tests.support.tools import free_port, require_program

pytestmark = [pytest.mark.e2e, pytest.mark.jmeter, pytest.mark.xdist_group("jmeter")]


@pytest.fixture
def invoke_perf(tmp_path, model_dir):
    """Return a runner of `invoke perf ARGS` in a subprocess: reports in tmp_path, an API port nobody uses."""
    require_program("java", "apt-get install default-jre-headless")
    env = {
        **os.environ,
        "INVOKE_PERF_REPORTS": str(tmp_path / "reports"),
        "INVOKE_PERF_PROGRESS_EVERY": "2",
        "INVOKE_MODEL_DIR": str(model_dir),
        "INVOKE_API_PORT": str(free_port()),
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "invoke", "perf", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )

    return run


def only_report(tmp_path):
    [folder] = (tmp_path / "reports").iterdir()
    return folder


def test_a_short_jmeter_run_counts_exactly_what_the_api_served(invoke_perf, model_dir, tmp_path):
    with running_api(model_dir, tmp_path / "api.log") as (base_url, _process):
        result = invoke_perf("--target", base_url, "--concurrency", "10", "--ramp-up", "2", "--hold", "8")
        served = served_predictions(base_url)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    folder = only_report(tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["summary"]["failures"] == 0
    assert summary["summary"]["requests"] > 100
    assert summary["summary"]["requests"] == served, "Taurus counted exactly what the API says it served"
    assert summary["slo"]["passed"] is True
    for name in ("report.png", "timeline.csv", "taurus/kpi.jtl", "taurus/bzt.log", "taurus/final-stats.xml", "taurus/slo.xml"):
        assert (folder / name).is_file(), name
    timeline = (folder / "timeline.csv").read_text().splitlines()
    assert sum(int(line.split(",")[2]) for line in timeline[1:]) == served
    assert re.search(r"  0:\d\d / 0:10  users +\d+ +[\d.]+ req/s", result.stdout), "progress lines while it runs"
    assert f"{served:>8,}" in result.stdout, "the summary table shows the request count"


def test_an_impossible_slo_fails_the_task_with_one_line_and_stops_the_api_it_started(invoke_perf, tmp_path):
    result = invoke_perf("--concurrency", "5", "--ramp-up", "1", "--hold", "6", "--max-p95-ms", "0")
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    folder = only_report(tmp_path)
    assert result.stderr.strip().splitlines()[-1] == f"SLO breached: p95 latency ≤ 0ms over every 3 s window — see {folder / 'report.png'}"
    assert "Traceback" not in result.stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["slo"]["passed"] is False
    assert "started the API at " + summary["target"] in result.stdout
    assert not answers(summary["target"] + "/health/live"), "the API the task started is stopped"
