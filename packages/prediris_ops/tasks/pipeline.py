"""`invoke pipeline`: the CI pipeline on this machine, lint → test → build → push → deploy → loadtest.

STAGES is the one definition of the pipeline: .github/workflows/pipeline.yml, ci/ (GitLab) and
azure-pipelines.yml run the same `invoke` lines per stage (tests/ci checks it). Each line runs as its
own `invoke …` process, exactly as a CI job runs it; the first failure stops the pipeline.
"""

import shlex
import sys
import time

from invoke.exceptions import Exit

from prediris_ops.tasks.exits import task

# Each stage's invoke command lines, in order. The image is built once: the build stage builds it, runs
# the image tests on it and saves it; the push stage (a fresh CI job) loads that archive and pushes it.
STAGES: dict[str, list[list[str]]] = {
    "lint": [["lint"]],
    "test": [["test", "--no-image"]],
    "build": [["build"], ["test", "--image"], ["save"]],
    "push": [["push"]],
    "deploy": [["deploy"]],
    "loadtest": [["perf", "--target", "azure"]],
}


def command_line(args: list[str]) -> str:
    """Return the line a CI file runs for these invoke arguments."""
    return shlex.join(["invoke", *args])


def select(first: str | None, last: str | None) -> list[str]:
    """Return the stage names from `first` to `last` (inclusive), or stop naming the valid ones."""
    names = list(STAGES)
    for value in (first, last):
        if value is not None and value not in STAGES:
            raise Exit(f"unknown stage {value!r}: choose one of {', '.join(names)}", code=2)
    start = names.index(first) if first else 0
    stop = names.index(last) if last else len(names) - 1
    if start > stop:
        raise Exit(f"--from {first} comes after --until {last}: stages run in the order {' → '.join(names)}", code=2)
    return names[start : stop + 1]


def table(rows: list[tuple[str, str, float | None, str]]) -> str:
    """Return the stage table: stage, status, duration, commands."""
    lines = [f"{'stage':<9} {'status':<8} {'duration':>9}  commands"]
    for stage, status, seconds, commands in rows:
        duration = f"{seconds:8.1f}s" if seconds is not None else f"{'—':>9}"
        lines.append(f"{stage:<9} {status:<8} {duration}  {commands}")
    return "\n".join(lines)


@task(
    help={
        "from": f"First stage to run ({', '.join(STAGES)}).",
        "until": "Last stage to run (inclusive).",
    }
)
def pipeline(c, *, from_=None, until=None):
    """Run the CI pipeline here: lint → test → build → push → deploy → loadtest; stop at the first failure."""
    stages = select(from_, until)
    rows: list[tuple[str, str, float | None, str]] = []
    failure = None
    for stage in stages:
        commands = " ; ".join(command_line(args) for args in STAGES[stage])
        if failure is not None:
            rows.append((stage, "skipped", None, commands))
            continue
        print(f"\n== stage {stage}: {commands}", flush=True)
        started = time.monotonic()
        for args in STAGES[stage]:
            result = c.run(shlex.join([sys.executable, "-m", "invoke", *args]), warn=True, pty=False)
            if result is None or result.failed:
                failure = f"pipeline failed at {stage}: `{command_line(args)}` exited with status {getattr(result, 'exited', 1)}"
                break
        rows.append((stage, "FAILED" if failure else "passed", time.monotonic() - started, commands))
    print("\n" + table(rows), flush=True)
    if failure:
        raise Exit(f"{failure}; later stages skipped", code=1)
