"""`invoke docs` and the strict build: the real site builds, and a broken link fails it."""

import shlex
import shutil
import subprocess
import sys

import pytest
import yaml
from invoke import Result
from invoke.exceptions import Exit

from prediris_ops.checks.lint import LINTERS
from prediris_ops.core.paths import ROOT
from prediris_ops.docs import site
from prediris_ops.tasks import docs
from tests.support.tools import missing


@pytest.fixture
def mkdocs():
    try:
        site.require_mkdocs()
    except site.DocsToolMissing as error:
        missing(str(error))


def build(config, site_dir):
    return subprocess.run(site.build_argv(site_dir, config), cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.usefixtures("mkdocs")
def test_the_manual_builds_strictly_with_its_generated_tables(tmp_path):
    result = build(site.CONFIG, tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    configuration = (tmp_path / "site" / "configuration" / "index.html").read_text()
    assert "PREDIRIS_MAX_IN_FLIGHT" in configuration
    assert "generated:" not in configuration
    assert "/problems/invalid-json" in (tmp_path / "site" / "api" / "index.html").read_text()


@pytest.mark.usefixtures("mkdocs")
def test_a_broken_link_fails_the_strict_build(tmp_path):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "docs" / "index.md").write_text("# prediris\n\nSee [the manual](no-such-page.md).\n", encoding="utf-8")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config |= {"docs_dir": str(tmp_path / "docs"), "hooks": [str(ROOT / hook) for hook in config["hooks"]]}
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr


def test_invoke_docs_builds_the_site_strictly(make_context, capsys, mkdocs):
    command = shlex.join(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(site.CONFIG), "--site-dir", str(ROOT / "build" / "site")]
    )
    c = make_context(run={command: Result()})
    docs.docs(c)
    c.run.assert_called_once_with(command, warn=True, hide=False, env={}, pty=False)
    assert "docs: built" in capsys.readouterr().out


def test_invoke_docs_serve_serves_on_the_configured_address(make_context, mkdocs):
    command = shlex.join([sys.executable, "-m", "mkdocs", "serve", "--config-file", str(site.CONFIG), "--dev-addr", "127.0.0.1:8123"])
    c = make_context(run={command: Result()}, docs={"address": "127.0.0.1:8123"})
    docs.docs(c, serve=True)
    c.run.assert_called_once_with(command, warn=True, hide=False, env={}, pty=False)


def test_a_failed_build_stops_the_task_with_its_status(make_context, mkdocs):
    command = shlex.join(site.build_argv(ROOT / "build" / "site"))
    with pytest.raises(Exit) as raised:
        docs.docs(make_context(run={command: Result(exited=1)}))
    assert raised.value.code == 1


def test_invoke_lint_runs_the_strict_build():
    linter = next(linter for linter in LINTERS if linter.name == "mkdocs build --strict")
    assert linter.required
    assert linter.argv(ROOT)[2:5] == ["mkdocs", "build", "--strict"]
