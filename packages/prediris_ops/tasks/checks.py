"""`invoke lint` (every linter the project uses) and `invoke test` (pytest)."""

import os
import shlex

from invoke.exceptions import Exit

from prediris_ops.checks.lint import LINTERS
from prediris_ops.container import docker as dockercli
from prediris_ops.container.provenance import TESTED_IMAGE_ENV, read_record, require_recorded_image
from prediris_ops.core.options import number
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import python_argv
from prediris_ops.docs.site import QUIET_ENV
from prediris_ops.tasks.exits import task

TEST_WORKERS = 4


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
        result = c.run(shlex.join(linter.argv(ROOT)), warn=True, env=QUIET_ENV)
        if result.failed:
            failed.append(linter.name)
    if failed:
        raise Exit(f"lint failed: {', '.join(failed)}", code=1)
    print(f"lint: all {len(LINTERS)} linters passed or skipped")


def recorded_image(c) -> str:
    """Return the reference of the image `invoke build` recorded, once the engine holds exactly it."""
    record = read_record(ROOT / c.docker.build_record)
    reference = require_recorded_image(dockercli.resolve_client(c.docker.executable), record, ROOT / c.docker.archive)
    print(f"testing {reference} ({record.image_id}), built by {record.built_by}")
    return reference


@task(
    help={
        "k": "Only tests matching this pytest -k expression.",
        "fast": "Skip end-to-end tests (real servers, engines, stand-ins).",
        "x": "Stop at the first failure.",
        "image": "Only the tests of the built image, run on the image `invoke build` recorded (no second build).",
        "no-image": "Skip the tests of the built image (CI runs them with --image on the image it pushes).",
        "workers": f"pytest-xdist workers (default {TEST_WORKERS}: most tests wait on sockets and subprocesses; 0: one process).",
    }
)
def test(c, k=None, fast=False, x=False, image=False, no_image=False, workers=None):
    """Run the test suite with pytest (in CI, tests whose tool is missing fail instead of skipping)."""
    if image and no_image:
        raise Exit("--image and --no-image exclude each other: --image runs only the image tests", code=2)
    workers = TEST_WORKERS if workers is None else number(workers, int, "workers")
    argv = python_argv("pytest")
    if workers > 0:
        # Groups keep tests sharing machine state on one worker; `alone` tests run with no other (tests/support/parallel.py).
        argv += ["-n", str(workers), "--dist", "loadgroup", "--no-loadscope-reorder"]
    env = {"PYTHONUNBUFFERED": "1"}
    markers = (["not e2e"] if fast else []) + (["not image"] if no_image else [])
    if image:
        markers.append("image")
        env[TESTED_IMAGE_ENV] = recorded_image(c)
    if k:
        argv += ["-k", k]
    if markers:
        argv += ["-m", " and ".join(markers)]
    if x:
        argv.append("-x")
    result = c.run(shlex.join(argv), warn=True, pty=False, env=env)
    if result.failed:
        raise Exit(
            f"tests failed (pytest exit status {result.exited})"
            + (" — CI=true: missing tools fail instead of skipping" if os.environ.get("CI") == "true" else ""),
            code=result.exited or 1,
        )
