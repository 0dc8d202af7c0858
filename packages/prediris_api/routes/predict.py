"""`POST /predict`: decode, predict (combined with concurrent requests), count, encode."""

from flask import Blueprint, Response, request

from prediris_api.codecs import check_media_type
from prediris_api.service import service

bp = Blueprint("predict", __name__)


@bp.post("/predict")
def predict():
    state = service()
    check_media_type(request.mimetype)
    decoded = state.decoder.decode(request.get_data(cache=False))
    labels, proba = state.runtime.predict(decoded.rows)
    out_of_range = state.runtime.out_of_range(decoded.rows)
    state.record_predictions(labels, out_of_range)
    body = state.encoder.encode(decoded, labels, proba, [item.to_dict() for item in out_of_range])
    return Response(body, mimetype="application/json")
