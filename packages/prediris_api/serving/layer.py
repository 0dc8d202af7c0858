"""The one WSGI layer every request crosses: metrics, access log, API keys, load shedding, /metrics.

It wraps the Flask app (`app.wsgi_app`), so the production server and Flask's test client see the
same behaviour. For each request it:

- labels it with bounded values: the method (known methods, else `other`) and the route template
  (`/v2/models/<name>/infer`, never the raw path; `<unmatched>` for anything else);
- counts it in flight (the gauge KEDA scales on, with the requests the server has waiting for a
  thread added at each scrape; the scrape of /metrics and the probes excluded) and,
  when shedding is on (`max_in_flight` below the threads), answers 503 `overloaded` with `Retry-After`
  once `max_in_flight` requests are already running;
- refuses a body announced larger than `max_body_bytes` with 413, after reading and discarding it up
  to a cap, so the client can read the reply instead of hitting a closed socket;
- checks the API key on the prediction routes (401 with a challenge, counted by reason);
- answers a well-formed `POST /predict` itself (decode, predict, encode: `Service.predict`), and hands
  everything else, and every request it cannot answer, to Flask untouched;
- counts and times the reply, writes the access-log line, adds `X-Content-Type-Options: nosniff`, and
  `Connection: close` while the replica drains (clients move to another replica).
"""

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

from flask import Flask
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

from prediris_api import auth
from prediris_api.protocol.problems import PROBLEM_MEDIA_TYPE, Problem, problem_json
from prediris_api.routes.v2 import error_body
from prediris_api.service import EXTENSION, Service
from prediris_api.serving import accesslog
from prediris_metrics.metrics import KNOWN_METHODS, OTHER_METHOD, UNMATCHED_ROUTE, PredirisMetrics

log = logging.getLogger("prediris")
METRICS_PATH = "/metrics"
PREDICT_ROUTE = "/predict"
# The routes an API key protects (route templates).
PROTECTED_ROUTES = frozenset({PREDICT_ROUTE, "/v2/models/<name>/infer", "/v2/models/<name>/versions/<version>/infer"})
# A body announced over the limit but within this size is read and discarded, so the client can read
# the 413; a larger one is refused without reading it (the client may see its send fail).
DISCARD_LIMIT_BYTES = 1024 * 1024
# Routes neither counted in flight nor ever shed: the scrape and the probes (a shed liveness probe
# would get a busy replica restarted).
UNSHED_PATHS = frozenset({"/health/live", "/health/ready"})
SHED_REASONS = ("overloaded", "shutting-down")
_NOSNIFF = ("X-Content-Type-Options", "nosniff")
_CLOSE = ("Connection", "close")
_JSON = "application/json"
StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class RouteLabels:
    """Turn (method, path) into the bounded labels of the request metrics."""

    def __init__(self, app: Flask) -> None:
        self._adapter: MapAdapter = app.url_map.bind("localhost")
        # Paths without variables, answered from a dict: /predict, /health/ready, ...
        self.static = {
            rule.rule: frozenset(rule.methods or ())
            for rule in app.url_map.iter_rules()
            if not rule.arguments and rule.endpoint != "static"
        }

    def route(self, method: str, path: str) -> str:
        """Return the route template that answers `method path`, or `<unmatched>`."""
        methods = self.static.get(path)
        if methods is not None:
            return path if method in methods else UNMATCHED_ROUTE
        try:
            rule, _ = self._adapter.match(path, method, return_rule=True)
        except HTTPException:  # not found, wrong method, or a redirect
            return UNMATCHED_ROUTE
        return str(rule.rule)


def method_label(method: str) -> str:
    """Return `method` when it is a standard method, else `other`: a client cannot invent label values."""
    return method if method in KNOWN_METHODS else OTHER_METHOD


class ServiceLayer:
    """WSGI callable in front of the Flask app; see the module docstring."""

    def __init__(self, app: Flask, serve_metrics: bool = True) -> None:
        self.flask_wsgi = app.wsgi_app
        self.service: Service = app.extensions[EXTENSION]
        settings = self.service.settings
        self.metrics: PredirisMetrics = self.service.metrics
        self.labels = RouteLabels(app)
        self.serve_metrics = serve_metrics
        # 0: never shed (a test client may run more requests at once than the server's threads).
        self.max_in_flight = settings.max_in_flight or sys.maxsize
        self.max_body_bytes = settings.max_body_bytes
        self.retry_after = str(settings.retry_after_seconds)
        self.flask = app
        self._fast_path: bool | None = None if settings.wsgi_fast_path and PREDICT_ROUTE in self.labels.static else False
        self.access_log = settings.access_log
        self.keys = auth.KeyChecker(settings.api_key_list) if settings.api_key_list else None
        self.on_problem = problem_counter(self.metrics)
        self._lock = threading.Lock()
        self.in_flight = 0
        # Executing here, plus waiting in the server for a thread (read at each scrape).
        self.metrics.in_flight.set_function(lambda: self.in_flight + self.service.waiting())

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = perf_counter()
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO") or "/"
        if path == METRICS_PATH and self.serve_metrics:
            return self._exposition(method, started, environ, start_response)
        route = self.labels.route(method, path)
        if path in UNSHED_PATHS:
            return self._admitted(method, route, path, started, environ, start_response)
        with self._lock:
            running = self.in_flight
            if running < self.max_in_flight:
                self.in_flight = running + 1
        if running >= self.max_in_flight:
            problem = Problem(
                "overloaded", "the replica is at its limit of requests in flight; retry later", headers={"Retry-After": self.retry_after}
            )
            return self._problem(problem, method, route, path, started, environ, start_response)
        try:
            return self._admitted(method, route, path, started, environ, start_response)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _admitted(
        self, method: str, route: str, path: str, started: float, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit() and int(length) > self.max_body_bytes:
            _discard(environ["wsgi.input"], int(length))
            problem = Problem(
                "body-too-large", f"the body has {length} bytes; the limit is {self.max_body_bytes} (PREDIRIS_MAX_BODY_BYTES)"
            )
            return self._problem(problem, method, route, path, started, environ, start_response)
        if self.keys is not None and route in PROTECTED_ROUTES:
            reason = self.keys.refusal(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_X_API_KEY"))
            if reason is not None:
                self.metrics.auth_refusals.labels(reason).inc()
                return self._problem(auth.unauthorized(reason), method, route, path, started, environ, start_response)
        if route == PREDICT_ROUTE and self.fast_path() and method == "POST" and environ.get("CONTENT_TYPE") == _JSON and length:
            body = environ["wsgi.input"].read(int(length))
            try:
                reply = self.service.predict(body)
            except Exception:  # a Problem, or a bug: Flask answers it (and logs a bug) as it would have
                environ["wsgi.input"] = io.BytesIO(body)
            else:
                return self._reply(method, route, path, started, environ, start_response, "200 OK", [("Content-Type", _JSON)], reply)
        return self._flask(method, route, path, started, environ, start_response)

    def fast_path(self) -> bool:
        """Whether the shortcut may answer: only while Flask has no request hook it would bypass (a fork's own)."""
        if self._fast_path is None:
            app = self.flask
            hooks = [
                function
                for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
                for blueprint, functions in registry.items()
                if blueprint in (None, "predict")
                for function in functions
            ]
            self._fast_path = not hooks
            if hooks:
                names = ", ".join(sorted(f"{function.__module__}.{function.__qualname__}" for function in hooks))
                log.warning("the /predict shortcut is off: Flask answers every request, because of the hooks %s", names)
        return self._fast_path

    def _flask(
        self, method: str, route: str, path: str, started: float, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        status_line = "500 INTERNAL SERVER ERROR"
        size: int | None = None
        draining = self.service.draining.is_set()

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal status_line, size
            status_line = status
            size = next((int(value) for name, value in headers if name.lower() == "content-length"), None)
            headers.append(_NOSNIFF)
            if draining:
                headers.append(_CLOSE)
            return start_response(status, headers, exc_info)

        try:
            result = self.flask_wsgi(environ, start)
        finally:
            self._record(method, route, path, status_line, started, environ, size)
        return result

    def _problem(
        self, problem: Problem, method: str, route: str, path: str, started: float, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Answer `problem` as the route's protocol wants it: `{"error"}` on V2 routes, else problem+json."""
        self.on_problem(problem)
        if path.startswith("/v2/") or path == "/v2":
            body, media_type = error_body(problem), _JSON
        else:
            body, media_type = problem_json(problem, path), PROBLEM_MEDIA_TYPE
        status = f"{problem.status} {problem.type.title}"
        headers = [("Content-Type", media_type), *problem.headers.items()]
        return self._reply(method, route, path, started, environ, start_response, status, headers, body)

    def _reply(
        self,
        method: str,
        route: str,
        path: str,
        started: float,
        environ: Environ,
        start_response: StartResponse,
        status: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> Iterable[bytes]:
        headers.append(("Content-Length", str(len(body))))
        headers.append(_NOSNIFF)
        if self.service.draining.is_set():
            headers.append(_CLOSE)
        start_response(status, headers)
        self._record(method, route, path, status, started, environ, len(body))
        return [body]

    def _exposition(self, method: str, started: float, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Serve /metrics: counted like any request, but neither in flight nor ever shed."""
        if method not in ("GET", "HEAD"):
            return self._flask(method, UNMATCHED_ROUTE, METRICS_PATH, started, environ, start_response)
        body = generate_latest(self.metrics.registry)
        headers = [("Content-Type", CONTENT_TYPE_LATEST)]
        return self._reply(method, METRICS_PATH, METRICS_PATH, started, environ, start_response, "200 OK", headers, body)

    def _record(self, method: str, route: str, path: str, status: str, started: float, environ: Environ, size: int | None) -> None:
        seconds = perf_counter() - started
        code = status[:3]
        self.metrics.traffic.record_request(method_label(method), route, code, seconds)
        if self.access_log:
            accesslog.log_request(method, path, int(code), seconds, size, environ.get("REMOTE_ADDR"))


def problem_counter(metrics: PredirisMetrics) -> Callable[[Problem], None]:
    """Return the function that counts each problem answered: shed requests and invalid ones (401s are
    counted by reason where they are refused)."""

    def count(problem: Problem) -> None:
        if problem.slug in SHED_REASONS:
            metrics.shed_requests.labels(problem.slug).inc()
        elif problem.status < 500 and problem.slug != auth.PROBLEM_SLUG:
            metrics.invalid_requests.labels(problem.slug).inc()

    return count


def _discard(stream: Any, length: int) -> None:
    """Read and drop a refused body of at most DISCARD_LIMIT_BYTES, so the client reads our reply."""
    if length > DISCARD_LIMIT_BYTES:
        return
    left = length
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)


def metrics_app(metrics: PredirisMetrics) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """Return the WSGI app of the metrics port: /metrics, and 404 for anything else."""

    def answer(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == METRICS_PATH and environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            body = generate_latest(metrics.registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
            return [body]
        body = b"not found: this port serves /metrics only\n"
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return answer
