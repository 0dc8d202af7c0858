"""`invoke docs` and the strict build: the real site builds, and a broken link fails it."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.request

import pytest
import yaml
from invoke import Result
from invoke.exceptions import Exit

from prediris_ops.checks.lint import LINTERS
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import wait_http
from prediris_ops.docs import site
from prediris_ops.tasks import docs
from tests.support.tools import free_port, missing


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


def test_invoke_docs_builds_the_site_quietly_into_the_site_dir(mkdocs, tmp_path):
    argv = [sys.executable, "-m", "invoke", "docs", "--site-dir", str(tmp_path / "site")]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "stylesheets" / "extra.css").is_file()
    assert f"docs: built {tmp_path / 'site' / 'index.html'}" in result.stdout
    assert "MkDocs 2.0" not in result.stdout + result.stderr  # Material's banner, silenced by NO_MKDOCS_2_WARNING


def test_invoke_docs_serve_serves_the_site_on_the_given_address(mkdocs, tmp_path):
    address = f"127.0.0.1:{free_port()}"
    argv = [sys.executable, "-m", "invoke", "docs", "--serve", "--address", address]
    server = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http(f"http://{address}/", timeout=60, process=server)
        with urllib.request.urlopen(f"http://{address}/getting-started/", timeout=10) as reply:
            assert reply.status == 200 and b"Getting started" in reply.read()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)


def test_a_failed_build_stops_the_task_with_its_status(make_context, mkdocs):
    command = shlex.join(site.build_argv(ROOT / "build" / "site"))
    with pytest.raises(Exit) as raised:
        docs.docs(make_context(run={command: Result(exited=1)}))
    assert raised.value.code == 1


def test_invoke_lint_runs_the_strict_build():
    linter = next(linter for linter in LINTERS if linter.name == "mkdocs build --strict")
    assert linter.required
    assert linter.argv(ROOT)[2:5] == ["mkdocs", "build", "--strict"]
