"""`invoke pipeline`: each stage's exact `invoke` commands in order, the first failure stops it, the table."""

import shlex
import sys

import pytest
from invoke import Result
from invoke.exceptions import Exit

from prediris_ops.tasks import pipeline


def command(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "invoke", *args])


ALL = [
    command("lint"),
    command("test", "--no-image"),
    command("build"),
    command("test", "--image"),
    command("save"),
    command("push"),
    command("deploy"),
    command("perf", "--target", "azure"),
]


def ran(c) -> list[str]:
    return [call.args[0] for call in c.run.call_args_list]


def test_the_pipeline_runs_every_stage_as_its_own_invoke_process_and_prints_a_table(make_context, capsys):
    c = make_context(run={line: Result() for line in ALL})
    pipeline.pipeline(c)
    assert ran(c) == ALL
    out = capsys.readouterr().out
    table = out[out.index("stage     status") :].splitlines()
    assert [row.split()[:2] for row in table[1:]] == [[stage, "passed"] for stage in pipeline.STAGES]
    assert table[3].endswith("invoke build ; invoke test --image ; invoke save")
    assert table[4].endswith("invoke push")
    assert table[6].endswith("invoke perf --target azure")


def test_the_first_failure_stops_the_pipeline_and_names_the_stage(make_context, capsys):
    c = make_context(run={**{line: Result() for line in ALL}, command("build"): Result(exited=2)})
    with pytest.raises(Exit) as raised:
        pipeline.pipeline(c)
    assert raised.value.message == "pipeline failed at build: `invoke build` exited with status 2; later stages skipped"
    assert ran(c) == ALL[:3]
    rows = [row.split()[:2] for row in capsys.readouterr().out.split("stage     status")[1].splitlines()[1:]]
    assert rows == [
        ["lint", "passed"],
        ["test", "passed"],
        ["build", "FAILED"],
        ["push", "skipped"],
        ["deploy", "skipped"],
        ["loadtest", "skipped"],
    ]


def test_from_and_until_run_a_part(make_context):
    c = make_context(run={line: Result() for line in ALL})
    pipeline.pipeline(c, from_="push", until="deploy")
    assert ran(c) == [command("push"), command("deploy")]


def test_from_alone_runs_to_the_end():
    assert pipeline.select("deploy", None) == ["deploy", "loadtest"]


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("lint", "shipping", "unknown stage 'shipping': choose one of lint, test, build, push, deploy, loadtest"),
        (
            "deploy",
            "build",
            "--from deploy comes after --until build: stages run in the order lint → test → build → push → deploy → loadtest",
        ),
    ],
)
def test_a_bad_stage_selection_is_one_line(first, last, message):
    with pytest.raises(Exit) as raised:
        pipeline.select(first, last)
    assert (raised.value.message, raised.value.code) == (message, 2)
