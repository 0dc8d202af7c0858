"""`invoke train`, `invoke up`, `invoke smoke`, `invoke lint`, `invoke test`: what they run and report."""

import itertools
import os
import shlex
import subprocess
import sys

import pytest
from invoke import Result
from invoke.exceptions import Exit

import prediris_model
from prediris_ops.checks.lint import LINTERS
from prediris_ops.core.apiconfig import api_settings
from prediris_ops.core.paths import ROOT
from prediris_ops.tasks import checks, model, serve


def test_train_writes_a_verified_model_and_reports_its_scores(make_context, tmp_path, capsys):
    model.train(make_context(), model_dir=str(tmp_path))
    out = capsys.readouterr().out
    assert "test accuracy 0.97" in out
    assert "setosa" in out
    assert prediris_model.load(tmp_path).version in out


def test_train_below_the_gate_fails_with_one_line(make_context, tmp_path):
    with pytest.raises(Exit, match="training failed: test accuracy .* below the quality gate 0.99") as raised:
        # Two folds instead of five: the gate, not the search, is under test.
        model.train(make_context(model={"cv_folds": 2}), model_dir=str(tmp_path), min_accuracy="0.99")
    assert raised.value.code == 1
    assert not (tmp_path / "iris-knn.joblib").exists()


def test_lint_runs_every_available_linter_as_an_argument_list(make_context):
    commands = {shlex.join(linter.argv(ROOT)): Result() for linter in LINTERS if linter.available()}
    c = make_context(run=commands)
    checks.lint(c)
    assert [call.args[0] for call in c.run.call_args_list] == list(commands)


def test_lint_failure_names_the_linter(make_context):
    first = LINTERS[0]
    commands = {shlex.join(linter.argv(ROOT)): Result() for linter in LINTERS}
    commands[shlex.join(first.argv(ROOT))] = Result(exited=1)
    with pytest.raises(Exit, match=f"lint failed: {first.name}"):
        checks.lint(make_context(run=commands))


# A suite of four tests, each writing down where it ran (an xdist worker or the one process) and failing
# unless it is the plain one; run by the real `invoke test` in its folder.
TINY_SUITE = """
import os
from pathlib import Path

import pytest


def ran(name):
    (Path(os.environ["RAN_DIR"]) / name).write_text(os.environ.get("PYTEST_XDIST_WORKER", "one process"))


def test_plain():
    ran("plain")


@pytest.mark.e2e
def test_end_to_end():
    ran("end_to_end")
    assert False


@pytest.mark.image
def test_image():
    ran("image")
    assert False


def test_other():
    ran("other")
    assert False
"""


@pytest.fixture
def tiny_suite(tmp_path):
    """Return run(*options): the real `invoke test` with those options on TINY_SUITE, in its folder;
    return ({test: where it ran}, the finished command). That pytest loads no plugin but xdist (the
    installed ones take seconds to import)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    e2e\n    image\n")
    (tmp_path / "test_tiny.py").write_text(TINY_SUITE)
    outer = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "PYTEST_ADDOPTS")
    env = {name: value for name, value in os.environ.items() if name not in outer}
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTEST_ADDOPTS="-p xdist -p no:cacheprovider")
    runs = itertools.count()

    def run(*options: str) -> tuple[dict[str, str], subprocess.CompletedProcess]:
        ran = tmp_path / f"ran{next(runs)}"
        ran.mkdir()
        argv = [sys.executable, "-m", "invoke", "--search-root", str(ROOT), "test", *options]
        finished = subprocess.run(argv, cwd=tmp_path, env={**env, "RAN_DIR": str(ran)}, capture_output=True, text=True, timeout=120)
        return {path.name: path.read_text() for path in ran.iterdir()}, finished

    return run


def test_test_runs_the_selection_on_workers_without_end_to_end_and_image_tests(tiny_suite):
    ran, finished = tiny_suite("-k", "not other", "--fast", "--no-image", "--workers", "2")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert list(ran) == ["plain"]
    assert ran["plain"] in {"gw0", "gw1"}


def test_a_failing_test_fails_the_task_with_one_line_and_x_stops_at_it_in_one_process(tiny_suite):
    ran, finished = tiny_suite("-x", "--workers", "0")
    assert finished.returncode == 1
    assert finished.stderr.strip().startswith("tests failed (pytest exit status 1)"), finished.stderr
    assert ran == {"plain": "one process", "end_to_end": "one process"}


def test_test_image_needs_the_record_of_a_build(make_context, tmp_path):
    c = make_context(docker={"build_record": str(tmp_path / "build.json")})
    with pytest.raises(Exit, match="no build record .*: run `invoke build` first"):
        checks.test(c, image=True)
    with pytest.raises(Exit, match="--image and --no-image exclude each other"):
        checks.test(c, image=True, no_image=True)
    assert c.run.call_args_list == []


def test_smoke_with_nothing_listening_says_in_one_line_to_start_the_api(make_context, capsys):
    with pytest.raises(Exit) as raised:
        serve.smoke(make_context(), url="http://127.0.0.1:9")
    assert raised.value.code == 1
    assert (
        raised.value.message == "nothing answers at http://127.0.0.1:9 (connection refused): start the API with `invoke up`, or pass --url"
    )
    assert capsys.readouterr().out == ""


def test_the_services_port_variable_beats_invoke_yaml_and_the_flag_beats_both(make_context):
    # What `invoke up` passes to the server it becomes (tests/e2e/test_server.py runs it for real).
    config = make_context().config
    assert api_settings(config, environ={"PREDIRIS_PORT": "8000"}).server_env()["PREDIRIS_PORT"] == "8000"
    assert api_settings(config, port=5056, environ={"PREDIRIS_PORT": "8000"}).server_env()["PREDIRIS_PORT"] == "5056"


def test_smoke_checks_where_up_serves(make_context, monkeypatch):
    monkeypatch.setenv("PREDIRIS_PORT", "9")
    with pytest.raises(Exit, match=r"^nothing answers at http://127.0.0.1:9 "):
        serve.smoke(make_context())


def test_an_unusable_port_variable_names_itself(make_context, model_dir, monkeypatch):
    monkeypatch.setenv("PREDIRIS_PORT", "eight")
    monkeypatch.setattr(serve.os, "execve", lambda *args: pytest.fail("up started the server"))  # never replace pytest
    with pytest.raises(Exit, match=r"^PREDIRIS_PORT='eight' is not an integer$") as raised:
        serve.up(make_context(), model_dir=str(model_dir))
    assert raised.value.code == 2
