"""`/metrics` on a port of its own (PREDIRIS_METRICS_PORT), served by waitress through its public API.

On Azure that port is an internal-only ingress port mapping (on Kubernetes a pod port no Service
exposes), so the metrics are scraped from inside and never published; the API port then answers 404
for /metrics. The port is for one scraper, so a small server does: waitress with one thread, a
connection limit, a timeout (PREDIRIS_HEADER_TIMEOUT_SECONDS) that closes an idle or half-sent request,
404 for any other path, and a
`Server` header that names no Python version. It runs in the process that serves (granian's worker),
where the metrics are counted.
"""

import logging
import threading

from waitress.server import create_server

from prediris_api.serving.layer import metrics_app
from prediris_api.settings import Settings
from prediris_metrics import PredirisMetrics

log = logging.getLogger("prediris")


def start(settings: Settings, metrics: PredirisMetrics) -> threading.Thread | None:
    """Serve `metrics` on settings.metrics_port in a daemon thread (nothing when it is 0)."""
    if not settings.metrics_port:
        return None
    server = create_server(
        metrics_app(metrics),
        host=settings.host,
        port=settings.metrics_port,
        threads=1,
        connection_limit=16,
        # A connection that sends nothing, or stops mid-request, is closed after the API port's header timeout.
        channel_timeout=settings.header_timeout_seconds,
        cleanup_interval=1,
        max_request_body_size=0,
        ident="prediris",
    )
    thread = threading.Thread(target=server.run, name="prediris-metrics-port", daemon=True)
    thread.start()
    log.info("serving /metrics on http://%s:%s only", settings.host, settings.metrics_port)
    return thread
