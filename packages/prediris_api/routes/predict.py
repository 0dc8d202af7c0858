"""`POST /predict`: decode, predict (one model call per request), count, encode.

Well-formed requests are answered by the WSGI layer's shortcut (serving/layer.py) with the same
`Service.predict`; this view answers the others, and every request when the shortcut is off.
"""

from flask import Blueprint, Response, request

from prediris_api.protocol.bodies import json_body
from prediris_api.service import service

bp = Blueprint("predict", __name__)


@bp.post("/predict")
def predict() -> Response:
    state = service()
    return Response(state.predict(json_body(request, state.settings.max_body_bytes)), mimetype="application/json")
