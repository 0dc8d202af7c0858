"""Liveness, readiness and the index: what probes and people call first."""

from flask import Blueprint, Response, jsonify

from prediris_api.protocol.problems import Problem
from prediris_api.service import service
from prediris_model import MODEL_NAME

bp = Blueprint("health", __name__)


@bp.get("/health/live")
def live() -> Response:
    """The process answers: restart it only when this fails."""
    return jsonify(status="live")


@bp.get("/health/ready")
def ready() -> Response:
    """Ready once the model is loaded and verified, until the process starts draining."""
    state = service()
    if not state.ready:
        raise Problem("shutting-down", "this replica is draining before it stops", headers={"Retry-After": "1"})
    return jsonify(status="ready", model_version=state.runtime.version)


@bp.get("/")
def index() -> Response:
    state = service()
    metrics_route = [] if state.settings.metrics_port else ["/metrics"]
    return jsonify(
        name="prediris",
        model=MODEL_NAME,
        model_version=state.runtime.version,
        routes=["/predict", "/health/live", "/health/ready", "/model", "/openapi.json", *metrics_route, "/v2"],
        try_it='curl -X POST -H "Content-Type: application/json" -d \'{"X": [5.1,3.5,1.4,0.2]}\' <this URL>/predict',
    )
