"""One structured access-log line per request, when enabled (`PREDIRIS_ACCESS_LOG=true`).

The WSGI layer (layer.py) writes it for every request. What a client sends is echoed truncated: the
method to 16 characters, the path to 200; API keys and headers are never logged.
"""

import json
import logging

log = logging.getLogger("prediris.access")


def log_request(method: str, path: str, status: int, seconds: float, size: int | None, remote: str | None) -> None:
    """Write one JSON line: method, path, status, duration, size and client address."""
    if not log.isEnabledFor(logging.INFO):  # building the line costs ~10 % of a request's CPU
        return
    log.info(
        "%s",
        json.dumps(
            {
                "method": method[:16],
                "path": path[:200],
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "bytes": size,
                "remote": remote,
            }
        ),
    )
