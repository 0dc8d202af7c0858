"""One structured access-log line per request, when enabled (`PREDIRIS_ACCESS_LOG=true`)."""

import json
import logging
from time import perf_counter

from flask import Flask, Response, g, request

log = logging.getLogger("prediris.access")


def init_app(app: Flask) -> None:
    """Log method, path, status, duration and size of every request as one JSON line."""

    @app.before_request
    def _start():
        g.prediris_access_started = perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        started = g.get("prediris_access_started", perf_counter())
        log.info(
            "%s",
            json.dumps(
                {
                    "method": request.method,
                    "path": request.path[:200],
                    "status": response.status_code,
                    "duration_ms": round((perf_counter() - started) * 1000, 3),
                    "bytes": response.calculate_content_length(),
                    "remote": request.remote_addr,
                }
            ),
        )
        return response
