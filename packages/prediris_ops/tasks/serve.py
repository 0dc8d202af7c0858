"""`invoke up` (train if needed, then serve in the foreground) and `invoke smoke` (check a live API)."""

import sys

from invoke import task
from invoke.exceptions import Exit

from prediris_ops.checks.smoke import run_checks
from prediris_ops.core.options import http_url
from prediris_ops.core.processes import python_argv, run_in
from prediris_ops.tasks.model import ensure_model


def server_env(c, host=None, port=None, threads=None, model_dir=None) -> dict[str, str]:
    """Return the PREDIRIS_* variables that make the server match the task's options."""
    env = {
        "PREDIRIS_HOST": str(host or c.api.host),
        "PREDIRIS_PORT": str(port or c.api.port),
        "PREDIRIS_MODEL_DIR": str(model_dir or c.model.dir),
    }
    if threads or c.api.get("threads"):
        env["PREDIRIS_THREADS"] = str(threads or c.api.threads)
    return env


def curl_line(base_url: str) -> str:
    return f'curl -X POST -H "Content-Type: application/json" -d \'{{"X": [5.1,3.5,1.4,0.2]}}\' {base_url}/predict'


@task(
    help={
        "host": "Interface to listen on (default: api.host, 127.0.0.1).",
        "port": "TCP port (default: api.port, 5000).",
        "threads": "Waitress worker threads (default: the service's own, 8).",
        "model-dir": "Model folder (default: model.dir, `models`).",
    }
)
def up(c, host=None, port=None, threads=None, model_dir=None):
    """Train if no verified model exists, then serve the API in the foreground (Ctrl-C stops it)."""
    version = ensure_model(c, model_dir)
    env = server_env(c, host, port, threads, model_dir)
    base = f"http://{'127.0.0.1' if env['PREDIRIS_HOST'] in ('0.0.0.0', '::') else env['PREDIRIS_HOST']}:{env['PREDIRIS_PORT']}"
    print(f"serving iris-knn {version} on {base} — try:\n  {curl_line(base)}\n(Ctrl-C to stop)", flush=True)
    run_in(c, python_argv("prediris_api"), env=env)


@task(help={"url": "Base URL of the API (default: http://api.host:api.port)."})
def smoke(c, url=None):
    """Check a live API: health, a known flower of each species, the model card and error handling."""
    base = http_url(url) if url else f"http://{c.api.host}:{c.api.port}"
    checks = run_checks(base)
    width = max(len(check.name) for check in checks)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name:<{width}}  {check.detail}")
    failed = [check for check in checks if not check.ok]
    if failed:
        raise Exit(f"smoke test of {base}: {len(failed)} of {len(checks)} checks failed", code=1)
    print(f"smoke test of {base}: all {len(checks)} checks passed")
    sys.stdout.flush()
