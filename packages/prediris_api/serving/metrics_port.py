"""`/metrics` on a port of its own (PREDIRIS_METRICS_PORT): prometheus_client's HTTP server, in a thread.

On Azure that port is an internal-only ingress port mapping, so the metrics are scraped from inside the
environment and never published; the API port then answers 404 for /metrics (see app.py).
"""

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from prediris_api.settings import Settings

log = logging.getLogger("prediris")


class MetricsPortError(RuntimeError):
    """The metrics port cannot be listened on; the message names the variable to change."""


def start(settings: Settings, registry: CollectorRegistry) -> WSGIServer | None:
    """Serve `registry` on settings.metrics_port (nothing when it is 0); return the server or None."""
    if not settings.metrics_port:
        return None
    try:
        server, _thread = start_http_server(settings.metrics_port, addr=settings.host, registry=registry)
    except OSError as error:
        raise MetricsPortError(
            f"cannot serve /metrics on {settings.host}:{settings.metrics_port} ({error.strerror}); "
            "set PREDIRIS_METRICS_PORT to a free port (or 0 for the API port)"
        ) from None
    log.info("serving /metrics on http://%s:%s only", settings.host, settings.metrics_port)
    return server
