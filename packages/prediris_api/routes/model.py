"""`GET /model`: the model card of the model being served."""

from flask import Blueprint, Response, jsonify

from prediris_api.service import service

bp = Blueprint("model", __name__)


@bp.get("/model")
def model_card() -> Response:
    state = service()
    return jsonify(state.runtime.card | {"runtime_warnings": state.runtime.loaded.warnings})
