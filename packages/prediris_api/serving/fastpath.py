"""A WSGI fast path for `POST /predict`: the well-formed request, answered without Flask.

A prediction is a few microseconds of model work inside tens of microseconds of Flask (request
context, URL matching, hooks, response object). In front of the Flask app, this callable answers
the common request itself: a POST to /predict with `Content-Type: application/json` and a
Content-Length within the limit, whose body `Service.predict` answers. It gives the reply Flask
would give (same body, same Content-Type and Content-Length) and moves the same series: the
request counter and duration, requests in flight, predictions, the access log line when on.

Everything else goes to Flask untouched, and so does any request the fast path cannot answer:
on a Problem (or any error) the body already read is handed back to Flask, which answers it
exactly as without the fast path (problem+json, counted once). Measured in docs/performance.md.

The fast path knows the app's request hooks (metrics, access log, the API-key check of auth.py:
with keys configured it answers only a request that offers a valid key, and hands any other to
Flask, which refuses and counts it). If anything else hooks into the requests, it steps aside and
Flask answers every request, so no hook is ever bypassed; `PREDIRIS_WSGI_FAST_PATH=false` turns it
off outright.
"""

import io
import logging
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

from flask import Flask

from prediris_api import auth
from prediris_api.service import EXTENSION
from prediris_api.serving import accesslog

log = logging.getLogger("prediris")
PATH = "/predict"
ROUTE = "/predict"  # the route template the request counter uses
# Modules whose request hooks the fast path does itself.
KNOWN_HOOKS = {"prediris_metrics.hooks", accesslog.__name__, auth.__name__}
_HEADERS = "application/json"


class PredictFastPath:
    """WSGI callable: answer well-formed `POST /predict` requests, hand everything else to `flask_app`."""

    def __init__(self, flask_app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.flask_app = flask_app
        self.wsgi_app = wsgi_app
        self.service = flask_app.extensions[EXTENSION]
        self.max_bytes = self.service.settings.max_body_bytes
        metrics = self.service.metrics
        self.in_flight = metrics.requests_in_flight
        self.counter = metrics.http_request("POST", ROUTE, "200")
        self.duration = metrics.duration("POST", ROUTE)
        # Decided at the first request, once every hook is registered.
        self._enabled: bool | None = None
        self._access_log = False
        self._keys: auth.KeyChecker | None = flask_app.extensions.get(auth.EXTENSION)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST" or not self.enabled():
            return self.wsgi_app(environ, start_response)
        length = environ.get("CONTENT_LENGTH", "")
        if environ.get("CONTENT_TYPE") != "application/json" or not length.isdigit() or int(length) > self.max_bytes:
            return self.wsgi_app(environ, start_response)
        keys = self._keys
        if keys is not None and keys.refusal(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_X_API_KEY")) is not None:
            return self.wsgi_app(environ, start_response)
        started = perf_counter()
        body = environ["wsgi.input"].read(int(length))
        self.in_flight.enter()
        try:
            reply = self.service.predict(body)
        except Exception:  # a Problem, or a bug: Flask answers it (and logs a bug) as it would have
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        finally:
            self.in_flight.leave()
        start_response("200 OK", [("Content-Type", _HEADERS), ("Content-Length", str(len(reply)))])
        seconds = perf_counter() - started
        self.duration.observe(seconds)
        self.counter.inc()
        if self._access_log:
            accesslog.log_request("POST", PATH, 200, seconds, len(reply), environ.get("REMOTE_ADDR"))
        return [reply]

    def enabled(self) -> bool:
        """Return whether the fast path may answer: only while it knows every request hook of the app."""
        if self._enabled is None:
            hooks = [
                function
                for registry in (
                    self.flask_app.before_request_funcs,
                    self.flask_app.after_request_funcs,
                    self.flask_app.teardown_request_funcs,
                )
                for blueprint, functions in registry.items()
                if blueprint in (None, "predict")
                for function in functions
            ]
            unknown = sorted(
                f"{function.__module__}.{function.__qualname__}" for function in hooks if function.__module__ not in KNOWN_HOOKS
            )
            rule = next(
                (rule for rule in self.flask_app.url_map.iter_rules() if rule.rule == ROUTE and "POST" in (rule.methods or ())), None
            )
            self._access_log = any(function.__module__ == accesslog.__name__ for function in hooks)
            self._enabled = not unknown and rule is not None and rule.endpoint == "predict.predict"
            if unknown:
                log.warning("the /predict fast path is off: Flask answers every request, because of the hooks %s", ", ".join(unknown))
        return self._enabled
