"""`invoke lint` (every linter the project uses) and `invoke test` (pytest)."""

import os
import shlex

from invoke.exceptions import Exit

from prediris_ops.checks.lint import LINTERS
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import python_argv
from prediris_ops.tasks.exits import task


@task
def lint(c):
    """Run ruff (check and format), and every other linter whose tool is present; stop on failure."""
    failed = []
    for linter in LINTERS:
        if not linter.available():
            if linter.required:
                failed.append(f"{linter.name} (tool {linter.program} missing: pip install -e '.[dev]')")
            else:
                print(f"skip {linter.name}: {linter.program} not on PATH")
            continue
        print(f"lint: {linter.name}", flush=True)
        result = c.run(shlex.join(linter.argv(ROOT)), warn=True)
        if result.failed:
            failed.append(linter.name)
    if failed:
        raise Exit(f"lint failed: {', '.join(failed)}", code=1)
    print(f"lint: all {len(LINTERS)} linters passed or skipped")


@task(
    help={
        "k": "Only tests matching this pytest -k expression.",
        "fast": "Skip end-to-end tests (real servers, engines, stand-ins).",
        "x": "Stop at the first failure.",
    }
)
def test(c, k=None, fast=False, x=False):
    """Run the test suite with pytest (in CI, tests whose tool is missing fail instead of skipping)."""
    argv = python_argv("pytest")
    if k:
        argv += ["-k", k]
    if fast:
        argv += ["-m", "not e2e"]
    if x:
        argv.append("-x")
    result = c.run(shlex.join(argv), warn=True, pty=False, env={"PYTHONUNBUFFERED": "1"})
    if result.failed:
        raise Exit(
            f"tests failed (pytest exit status {result.exited})"
            + (" — CI=true: missing tools fail instead of skipping" if os.environ.get("CI") == "true" else ""),
            code=result.exited or 1,
        )
