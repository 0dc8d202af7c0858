"""`POST /predict`: decode, predict (one model call per request), count, encode."""

from flask import Blueprint, Response, request

from prediris_api.protocol.bodies import json_body
from prediris_api.service import service

bp = Blueprint("predict", __name__)


@bp.post("/predict")
def predict():
    state = service()
    runtime = state.runtime
    decoded = state.decoder.decode(json_body(request, state.settings.max_body_bytes))
    labels, proba = runtime.predict(decoded.rows)
    out_of_range = runtime.out_of_range(decoded.rows)
    state.record_predictions(labels, out_of_range)
    body = state.encoder.encode(decoded, labels, proba, [item.to_dict() for item in out_of_range])
    return Response(body, mimetype="application/json")
