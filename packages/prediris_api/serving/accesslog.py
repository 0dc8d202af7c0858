"""One structured access-log line per request, when enabled (`PREDIRIS_ACCESS_LOG=true`)."""

import json
import logging
from time import perf_counter

from flask import Flask, Response, g, request

log = logging.getLogger("prediris.access")


def log_request(method: str, path: str, status: int, seconds: float, size: int | None, remote: str | None) -> None:
    """Write one JSON line: method, path, status, duration, size and client address."""
    if not log.isEnabledFor(logging.INFO):  # building the line costs ~10 % of a request's CPU
        return
    log.info(
        "%s",
        json.dumps(
            {
                "method": method,
                "path": path[:200],
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "bytes": size,
                "remote": remote,
            }
        ),
    )


def init_app(app: Flask) -> None:
    """Log every request that Flask answers (the fast path logs its own, see fastpath.py)."""

    @app.before_request
    def _start() -> None:
        g.prediris_access_started = perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        started = g.get("prediris_access_started", perf_counter())
        log_request(
            request.method,
            request.path,
            response.status_code,
            perf_counter() - started,
            response.calculate_content_length(),
            request.remote_addr,
        )
        return response
