"""`GET /openapi.json` and `GET /problems/<slug>`: the API describes itself and its errors."""

from flask import Blueprint, Response, current_app, jsonify

from prediris_api.protocol.openapi import build_spec
from prediris_api.protocol.problems import PROBLEM_TYPES, Problem, type_uri
from prediris_api.service import service

bp = Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi() -> Response:
    spec = current_app.extensions.get("prediris_openapi")
    if spec is None:
        state = service()
        settings = state.settings
        spec = build_spec(
            state.runtime.feature_names,
            state.runtime.class_names,
            settings.max_batch_rows,
            state.runtime.version,
            api_keys=bool(settings.api_key_list),
            metrics_route=not settings.metrics_port,
        )
        current_app.extensions["prediris_openapi"] = spec
    return jsonify(spec)


@bp.get("/problems/<slug>")
def problem_type(slug: str) -> Response:
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise Problem("not-found", f"no problem type {slug!r}; the types are listed in /openapi.json")
    return jsonify(type=type_uri(kind.slug), title=kind.title, status=kind.status, description=kind.description)
