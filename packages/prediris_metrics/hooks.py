"""Flask wiring: before/after/teardown hooks that count and time every request, and `/metrics`.

The hooks are on every request's path, so they keep their state in one slot of the WSGI environ
(no `g` attribute traffic) and use cached label children: a few microseconds per request.
"""

from time import perf_counter
from typing import cast

from flask import Flask, Request, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.local import LocalProxy

from prediris_metrics.metrics import UNMATCHED_ROUTE, PredirisMetrics

METRICS_PATH = "/metrics"
_STARTED = "prediris.started"
_STATUS_TEXT = {code: str(code) for code in range(100, 600)}
# Flask types `request` as the Request it stands for; the proxy's own method is what the hook needs.
_REQUEST_PROXY = cast("LocalProxy[Request]", request)


def init_app(app: Flask, metrics: PredirisMetrics, serve_path: bool = True) -> None:
    """Count, time and gauge every request of `app`, errors included, and serve `/metrics` unless
    `serve_path` is false (the metrics then have a port of their own)."""
    in_flight = metrics.requests_in_flight

    @app.before_request
    def _start() -> None:
        request.environ[_STARTED] = perf_counter()
        in_flight.enter()

    @app.after_request
    def _record(response: Response) -> Response:
        current = _REQUEST_PROXY._get_current_object()  # one context lookup instead of one per attribute
        started = current.environ.pop(_STARTED, None)
        if started is not None:
            in_flight.leave()
            rule = current.url_rule
            route = UNMATCHED_ROUTE if rule is None else rule.rule
            method = current.method
            metrics.duration(method, route).observe(perf_counter() - started)
            metrics.http_request(method, route, _STATUS_TEXT.get(response.status_code) or str(response.status_code)).inc()
        return response

    @app.teardown_request
    def _finish(error: BaseException | None) -> None:
        # Only an error that escaped every handler skips after_request: count it as a 500.
        if request.environ.pop(_STARTED, None) is not None:
            in_flight.leave()
            rule = request.url_rule
            metrics.http_request(request.method, UNMATCHED_ROUTE if rule is None else rule.rule, "500").inc()

    if serve_path:

        @app.get(METRICS_PATH)
        def prometheus_metrics() -> Response:
            return Response(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)
