"""`invoke up` (train if needed, then serve in the foreground) and `invoke smoke` (check a live API)."""

import os
import sys

from invoke.exceptions import Exit

from prediris_ops.checks.smoke import first_key, require_listening, run_checks
from prediris_ops.core.apiconfig import api_settings
from prediris_ops.core.errors import OpsError
from prediris_ops.core.model import ensure_model
from prediris_ops.core.options import http_url
from prediris_ops.core.processes import python_argv
from prediris_ops.tasks.exits import task


@task(
    help={
        "host": "Interface to listen on (default: PREDIRIS_HOST, else api.host, 127.0.0.1).",
        "port": "TCP port (default: PREDIRIS_PORT, else PORT, else api.port, 5000).",
        "threads": "Python threads that run requests (default: PREDIRIS_THREADS, else api.threads, else the service's own, 4).",
        "model-dir": "Model folder (default: PREDIRIS_MODEL_DIR, else model.dir, `models`).",
    }
)
def up(c, host=None, port=None, threads=None, model_dir=None):
    """Train if no verified model exists, then serve the API in the foreground (Ctrl-C stops it).

    Each setting comes from its flag, else the service's own variable (PREDIRIS_PORT, ...), else
    invoke's configuration (INVOKE_API_PORT, then invoke.yaml): `PREDIRIS_PORT=8000 invoke up` serves on 8000.
    The task becomes the server (exec): SIGTERM and Ctrl-C reach it directly and drain it, no orphan is left.
    """
    from prediris_api.serving.server import ServeError, check_free

    settings = api_settings(c.config, host=host, port=port, threads=threads, model_dir=model_dir)
    try:
        check_free(settings.host, settings.port, "--port")
    except ServeError as error:
        raise OpsError(str(error)) from None
    ensure_model(c.model, settings.model_dir)
    sys.stdout.flush()
    argv = python_argv("prediris_api")
    os.execve(argv[0], argv, {**os.environ, **settings.server_env()})  # noqa: S606 - an argv list, no shell


@task(help={"url": "Base URL of the API (default: where `invoke up` serves: PREDIRIS_HOST/PREDIRIS_PORT, else api.host:api.port)."})
def smoke(c, url=None):
    """Check a live API: health, a known flower of each species, the model card and error handling.

    Predictions send the first key of PREDIRIS_API_KEYS (the service's own variable) when it is set.
    """
    base = http_url(url) if url else api_settings(c.config).base_url
    require_listening(base)
    checks = run_checks(base, api_key=first_key(os.environ.get("PREDIRIS_API_KEYS")))
    width = max(len(check.name) for check in checks)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name:<{width}}  {check.detail}")
    failed = [check for check in checks if not check.ok]
    if failed:
        raise Exit(f"smoke test of {base}: {len(failed)} of {len(checks)} checks failed", code=1)
    print(f"smoke test of {base}: all {len(checks)} checks passed")
    sys.stdout.flush()
