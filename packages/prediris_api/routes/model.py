"""`GET /model`: the model card of the model being served."""

from flask import Blueprint, Response, jsonify

from prediris_api.service import service

bp = Blueprint("model", __name__)
# Library versions the model was trained with: shown only with PREDIRIS_EXPOSE_RUNTIME=true.
RUNTIME_FIELDS = ("versions",)


@bp.get("/model")
def model_card() -> Response:
    """Name, version, features, classes and quality always; library versions and the load-time
    runtime_warnings (which name them) only when runtime details are exposed (docs/security.md)."""
    state = service()
    card = state.runtime.card
    if state.settings.expose_runtime:
        return jsonify(card | {"runtime_warnings": state.runtime.loaded.warnings})
    return jsonify({key: value for key, value in card.items() if key not in RUNTIME_FIELDS})
