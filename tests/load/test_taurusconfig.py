"""Taurus's configuration rules as the task applies them, checked against Taurus's own code.

Taurus runs in a subprocess here, as in `invoke perf`: importing it would import urwid into the test
session, whose deprecated aliases break every later hypothesis test.
"""

import json
import subprocess
import sys

import pytest

from prediris_ops.core.durations import seconds
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from prediris_ops.load.slo import parse_criterion
from prediris_ops.load.taurus import load_profile, merged_config, write_overrides
from prediris_ops.load.taurusconfig import merge
from tests.load.test_taurus import overrides_for


def taurus(code: str, *args: str):
    """Run `code` with Taurus importable in a fresh interpreter; return the JSON it prints."""
    script = "import json, sys, warnings\nwarnings.simplefilter('ignore')\n" + code
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)


def test_profiles_and_overrides_merge_exactly_as_taurus_merges_them(tmp_path):
    files = [ROOT / "perf/predict.yml", ROOT / "perf/stress.yml", write_overrides(tmp_path, overrides_for(tmp_path))]
    theirs = taurus(
        "import yaml\nfrom bzt.utils import BetterDict\nconfig = BetterDict()\n"
        "for path in sys.argv[1:]:\n    config.merge(yaml.safe_load(open(path)))\n"
        "print(json.dumps(config))",
        *map(str, files),
    )
    assert merged_config(ROOT, files) == theirs


def test_merge_prefixes():
    base = {"a": {"x": 1, "y": [1]}, "list": [{"k": 1}, {"k": 2}], "gone": 1, "replaced": {"old": 1}}
    merge(base, {"a": {"y": [2]}, "$list": [{"j": 1}], "^gone": None, "~replaced": {"new": 1}})
    assert base == {"a": {"x": 1, "y": [1, 2]}, "list": [{"k": 1, "j": 1}, {"k": 2}], "replaced": {"new": 1}}


@pytest.mark.parametrize(("text", "value"), [(30, 30.0), ("30s", 30.0), ("1m30s", 90.0), ("2h", 7200.0), ("500ms", 0.5), ("45", 45.0)])
def test_durations_read_as_taurus_reads_them(text, value):
    assert seconds(text) == value


def test_durations_agree_with_taurus():
    texts = ["30s", "1m30s", "2h", "500ms", "45", "1d2h"]
    theirs = taurus("from bzt.utils import dehumanize_time\nprint(json.dumps([dehumanize_time(t) for t in sys.argv[1:]]))", *texts)
    assert [seconds(text) for text in texts] == theirs


def test_a_duration_taurus_would_not_read_stops_with_one_line():
    with pytest.raises(OpsError, match="'soon' is not a duration: a number of seconds, or e.g. 30s"):
        seconds("soon")


CRITERIA = [
    "error ratio: fail>1% over 10s, stop as failed",
    "p95 latency: p95>500ms over 10s, continue as non-failed",
    "p99>1000ms for 5s",
    "avg-rt of POST /predict>150ms within 1m, continue as failed",
    "hits<10",
]


def test_criteria_are_read_as_taurus_reads_them():
    theirs = taurus(
        "from bzt.modules.passfail import DataCriterion\nfrom bzt.utils import dehumanize_time\n"
        "out = []\nfor text in sys.argv[1:]:\n    c = DataCriterion.string_to_config(text)\n"
        "    out.append([c['message'] or c['subject'], c['subject'], c['label'], c['condition'], str(c['threshold']), c['logic'], "
        "int(dehumanize_time(c['timeframe'] or 0)), c['stop'], c['fail']])\nprint(json.dumps(out))",
        *CRITERIA,
    )
    ours = [parse_criterion(text) for text in CRITERIA]
    assert [[c.name, c.subject, c.label, c.condition, c.threshold, c.logic, c.window_seconds, c.stop, c.fail] for c in ours] == theirs


def test_a_criterion_not_in_taurus_form_stops_with_one_line():
    with pytest.raises(OpsError, match="SLO criterion 'p95 is low' is not in Taurus's form"):
        parse_criterion("p95 is low")


def test_the_profile_criteria_survive_a_round_trip():
    for criterion in load_profile(ROOT, "predict").criteria:
        assert parse_criterion(criterion.to_taurus()) == criterion
