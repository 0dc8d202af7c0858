"""`invoke bench`: prediris against the limit (a constant on granian) and FastAPI, in one run, with wrk."""

from pathlib import Path

from invoke.exceptions import Exit

from prediris_ops.core.durations import seconds
from prediris_ops.core.model import ensure_model
from prediris_ops.core.options import number
from prediris_ops.core.processes import require_program
from prediris_ops.load.bench import SUBJECTS, BenchConfig, format_table, run_bench, variant
from prediris_ops.tasks.exits import task


@task(
    help={
        "duration": "Time measured per point, after the warm-up: 10s, 1m, or seconds (default: bench.duration).",
        "warmup": "Unmeasured load before each point: 3s, or seconds (default: bench.warmup).",
        "connections": "Concurrent connections of the loaded points (default: bench.connections, 100).",
        "only": "Comma-separated subset of constant,fastapi,prediris (default: all three).",
        "memory-requests": "Requests served before the second memory reading (default: bench.memory_requests; 0 skips).",
        "threads": "Python threads of every granian server under test (default: the service's own).",
        "rounds": "Alternating rounds; each figure is the median over them (default: bench.rounds).",
        "ab": "One more prediris with these settings, e.g. threads=4 or access_log=true (repeatable).",
    },
    iterable=["ab"],
)
def bench(c, duration=None, warmup=None, connections=None, only=None, memory_requests=None, threads=None, rounds=None, ab=None):
    """Measure prediris against the constant on granian (the limit) and FastAPI; print ratios, write JSON."""
    wrk = require_program("wrk", "install wrk (Debian: apt-get install wrk)")
    subjects = tuple(name.strip() for name in (only or ",".join(SUBJECTS)).split(",") if name.strip())
    unknown = [name for name in subjects if name not in SUBJECTS]
    if unknown:
        raise Exit(f"bench: unknown server {', '.join(unknown)}; choose from {', '.join(SUBJECTS)}", code=2)
    variants = dict(variant(spec) for spec in ab or [])
    ensure_model(c.model)
    config = BenchConfig(
        model_dir=c.model.dir,
        out_dir=Path(c.bench.out_dir),
        duration=seconds(c.bench.duration if duration is None else duration, "--duration", positive=True),
        warmup=seconds(c.bench.warmup if warmup is None else warmup, "--warmup"),
        connections=number(c.bench.connections if connections is None else connections, int, "connections"),
        subjects=subjects,
        memory_requests=number(c.bench.memory_requests if memory_requests is None else memory_requests, int, "memory-requests"),
        wrk=wrk,
        settings={"threads": number(threads, int, "threads")} if threads else {},
        rounds=number(c.bench.rounds if rounds is None else rounds, int, "rounds"),
        variants=variants,
    )
    report = run_bench(config)
    print()
    print(format_table(report))
    print(f"\nwritten: {config.out_dir / 'latest.json'}")
