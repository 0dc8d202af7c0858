"""Flask wiring: before/after/teardown hooks that count and time every request, and `/metrics`."""

from time import perf_counter

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from prediris_metrics.metrics import UNMATCHED_ROUTE, PredirisMetrics

METRICS_PATH = "/metrics"


def init_app(app: Flask, metrics: PredirisMetrics) -> None:
    """Count, time and gauge every request of `app`, errors included, and serve `/metrics`."""
    in_flight = metrics.in_flight

    @app.before_request
    def _start():
        g.prediris_started = perf_counter()
        in_flight.inc()

    @app.after_request
    def _record(response: Response) -> Response:
        started = g.get("prediris_started")
        if started is not None:
            rule = request.url_rule
            route = rule.rule if rule is not None else UNMATCHED_ROUTE
            method = request.method
            metrics.duration(method, route).observe(perf_counter() - started)
            metrics.http_request(method, route, str(response.status_code)).inc()
            g.prediris_recorded = True
        return response

    @app.teardown_request
    def _finish(error):
        if g.pop("prediris_started", None) is not None:
            in_flight.dec()
            if error is not None and not g.get("prediris_recorded"):
                # An error that escaped every handler: still count it, as a 500.
                rule = request.url_rule
                metrics.http_request(request.method, rule.rule if rule is not None else UNMATCHED_ROUTE, "500").inc()

    @app.get(METRICS_PATH)
    def prometheus_metrics():
        return Response(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)
