"""RFC 9457 problem details: one error class, a registry of problem types, one Flask handler.

Every error the API answers is a `Problem`: a status, a stable slug (also the `reason` label of
`prediris_invalid_requests_total`), a detail naming the bad value, and `errors` pointing at it.
"""

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

PROBLEM_MEDIA_TYPE = "application/problem+json"
# What a problem echoes of the request is capped, so that a reply never grows with the input:
# at most ECHO_NAMES names, each (and a path or a method) cut to ECHO_CHARS characters.
ECHO_CHARS = 40
ECHO_NAMES = 3
INSTANCE_CHARS = 200
log = logging.getLogger(__name__)


def shown(text: str, limit: int = ECHO_CHARS) -> str:
    """Return `text` as a reply may echo it: cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_names(names: list[str]) -> str:
    """Return the first ECHO_NAMES names, each cut and JSON-quoted, and how many more there are."""
    listed = ", ".join(json.dumps(shown(name), ensure_ascii=False) for name in names[:ECHO_NAMES])
    more = len(names) - ECHO_NAMES
    return listed + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str


_TYPES = [
    ProblemType(
        "invalid-json",
        400,
        "Body is not valid JSON",
        "The request body could not be parsed as JSON (RFC 8259). NaN and Infinity are not JSON.",
    ),
    ProblemType("empty-body", 400, "Empty body", 'The request has no body; send a JSON object such as {"X": [5.1, 3.5, 1.4, 0.2]}.'),
    ProblemType("unsupported-media-type", 415, "Unsupported media type", "Send the body with Content-Type: application/json."),
    ProblemType("body-too-large", 413, "Body too large", "The body is over the configured size limit (PREDIRIS_MAX_BODY_BYTES)."),
    ProblemType("not-an-object", 400, "Body is not a JSON object", 'The top level of the body must be an object with an "X" member.'),
    ProblemType("missing-field", 400, "Missing field", "A required member is absent."),
    ProblemType("unknown-field", 400, "Unknown field", "The body has a member the API does not know; it is refused rather than ignored."),
    ProblemType(
        "invalid-shape",
        400,
        "Invalid shape",
        '"X" must be one row of 4 features, an object of named features, or a non-empty list of rows of equal length.',
    ),
    ProblemType(
        "batch-too-large", 413, "Batch too large", "The batch has more rows than the configured limit (PREDIRIS_MAX_BATCH_ROWS); split it."
    ),
    ProblemType(
        "invalid-value",
        400,
        "Invalid feature value",
        "Features are finite, non-negative numbers in centimetres; strings, booleans, nulls and overflowing numbers are refused.",
    ),
    ProblemType(
        "headers-too-large",
        431,
        "Request headers too large",
        "The request line and headers are over the server's limit; send fewer or shorter headers.",
    ),
    ProblemType(
        "unauthorized",
        401,
        "API key required",
        "This route needs an API key: send Authorization: Bearer <key> or X-API-Key: <key> (see WWW-Authenticate).",
    ),
    ProblemType("not-found", 404, "Not found", "No route matches this path; see /openapi.json."),
    ProblemType(
        "method-not-allowed",
        405,
        "Method not allowed",
        "The route exists but not for this method; the Allow header lists the methods it takes.",
    ),
    ProblemType("bad-request", 400, "Bad request", "The request could not be understood."),
    ProblemType("overloaded", 503, "Overloaded", "The replica is at its admission limit; retry after the Retry-After delay."),
    ProblemType("shutting-down", 503, "Shutting down", "The replica is draining before it stops; retry, another replica will answer."),
    ProblemType("internal-error", 500, "Internal error", "An unexpected error; it was logged on the server."),
]
PROBLEM_TYPES = {problem_type.slug: problem_type for problem_type in _TYPES}


def type_uri(slug: str) -> str:
    """Return the problem's `type`: a relative URI that the API itself documents."""
    return f"/problems/{slug}"


class Problem(Exception):
    """An error answered as application/problem+json."""

    def __init__(self, slug: str, detail: str, errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.type = PROBLEM_TYPES[slug]
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    @property
    def slug(self) -> str:
        return self.type.slug

    @property
    def status(self) -> int:
        return self.type.status

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": type_uri(self.slug), "title": self.type.title, "status": self.status, "detail": self.detail}
        if instance:
            body["instance"] = shown(instance, INSTANCE_CHARS)
        if self.errors:
            body["errors"] = self.errors
        return body


def problem_json(problem: Problem, instance: str | None = None) -> bytes:
    """Render a Problem as its application/problem+json body (Flask's handler and the WSGI layer share it)."""
    return json.dumps(problem.to_dict(instance)).encode()


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    """Render a Problem as a Flask response."""
    response = Response(problem_json(problem, instance), status=problem.status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException) -> Problem:
    """Translate werkzeug's routing and size errors into problems."""
    if error.code == 404:
        return Problem("not-found", f"no route for {shown(request.path)}; see /openapi.json for the routes")
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or []))
        detail = f"{shown(request.method)} is not allowed on {shown(request.path)}; use {allowed}"
        return Problem("method-not-allowed", detail, headers={"Allow": allowed})
    if error.code == 413:
        return Problem("body-too-large", "the body is larger than the configured limit")
    if error.code == 415:
        return Problem("unsupported-media-type", "send the body with Content-Type: application/json")
    return Problem("bad-request", error.description or "the request could not be understood")


def init_app(
    app: Flask,
    on_problem: Callable[[Problem], None] | None = None,
    renderers: Mapping[str, Callable[[Problem], Response]] | None = None,
) -> None:
    """Register the one handler that turns every error into an answer: problem+json, or the body a
    blueprint's protocol requires (`renderers`, by blueprint name). `on_problem` sees each problem."""
    renderers = dict(renderers or {})

    def answer(problem: Problem) -> Response:
        if on_problem is not None:
            on_problem(problem)
        blueprint = request.blueprint
        render = renderers.get(blueprint) if blueprint is not None else None
        return render(problem) if render is not None else problem_response(problem, request.path)

    @app.errorhandler(Exception)
    def _any(error: Exception) -> Response:
        if isinstance(error, Problem):
            return answer(error)
        if isinstance(error, HTTPException):
            return answer(from_http_exception(error))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return answer(Problem("internal-error", "an unexpected error occurred; it was logged on the server"))
