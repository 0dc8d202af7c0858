"""The Open Inference Protocol V2 REST routes, so KServe/MLServer/Triton clients work unchanged.

Errors here answer `{"error": "..."}` as the protocol specifies, not problem+json: the app's one
problem handler renders them with `error_response` (see app.py).
"""

import json
from importlib import metadata

from flask import Blueprint, Response, jsonify, request

from prediris_api.protocol.bodies import json_body
from prediris_api.protocol.codecs import parse_json
from prediris_api.protocol.problems import Problem
from prediris_api.protocol.v2codec import decode_infer, encode_infer
from prediris_api.service import Service, service
from prediris_model import MODEL_NAME

bp = Blueprint("v2", __name__, url_prefix="/v2")


def server_version() -> str:
    """Return the version of the installed `prediris` distribution (setup.cfg's), or "unknown" where the
    packages run without being installed (the image copies them onto PYTHONPATH)."""
    try:
        return metadata.version("prediris")
    except metadata.PackageNotFoundError:
        return "unknown"


def error_body(problem: Problem) -> bytes:
    """The protocol's error body, `{"error": detail}` as Flask's jsonify writes it (the Flask handler and the WSGI
    layer share it)."""
    return json.dumps({"error": problem.detail}, separators=(",", ":")).encode() + b"\n"


def error_response(problem: Problem) -> Response:
    """Answer a problem the protocol's way: `{"error": detail}`, with the problem's status and headers."""
    response = Response(error_body(problem), status=problem.status, mimetype="application/json")
    response.headers.update(problem.headers)
    return response


def _model(name: str, version: str | None = None) -> Service:
    state = service()
    if name != MODEL_NAME or (version is not None and version != state.runtime.version):
        wanted = f"{name}" + (f" version {version}" if version else "")
        raise Problem("not-found", f"model {wanted!r} not found; this server serves {MODEL_NAME} version {state.runtime.version}")
    return state


@bp.get("")
def server_metadata() -> Response:
    return jsonify(name="prediris", version=server_version(), extensions=[])


@bp.get("/health/live")
def server_live() -> Response:
    return jsonify(live=True)


@bp.get("/health/ready")
def server_ready() -> tuple[Response, int]:
    state = service()
    return jsonify(ready=state.ready), (200 if state.ready else 503)


@bp.get("/models/<name>")
@bp.get("/models/<name>/versions/<version>")
def model_metadata(name: str, version: str | None = None) -> Response:
    state = _model(name, version)
    runtime = state.runtime
    return jsonify(
        name=MODEL_NAME,
        versions=[runtime.version],
        platform=_platform(state),
        inputs=[
            {
                "name": "input-0",
                "datatype": "FP64",
                "shape": [-1, len(runtime.feature_names)],
                "parameters": {"features": list(runtime.feature_names)},
            }
        ],
        outputs=[
            {"name": "predict", "datatype": "INT64", "shape": [-1], "parameters": {"classes": list(runtime.class_names)}},
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(runtime.class_names)]},
        ],
    )


def _platform(state: Service) -> str:
    """scikit-learn, with the version the model was trained with when runtime details are shown."""
    if not state.settings.expose_runtime:
        return "scikit-learn"
    return f"scikit-learn_{state.runtime.card.get('versions', {}).get('scikit-learn', 'unknown')}"


@bp.get("/models/<name>/ready")
@bp.get("/models/<name>/versions/<version>/ready")
def model_ready(name: str, version: str | None = None) -> tuple[Response, int]:
    state = _model(name, version)
    return jsonify(name=MODEL_NAME, ready=state.ready), (200 if state.ready else 503)


@bp.post("/models/<name>/infer")
@bp.post("/models/<name>/versions/<version>/infer")
def infer(name: str, version: str | None = None) -> Response:
    state = _model(name, version)
    # V2 clients may omit Content-Type; a declared non-JSON type is refused.
    body = json_body(request, state.settings.max_body_bytes, require_media_type=False)
    decoded = decode_infer(parse_json(body), len(state.runtime.feature_names), state.settings.max_batch_rows)
    body = state.answer(
        decoded.rows,
        lambda labels, proba, warnings: encode_infer(
            decoded, labels, proba, model_name=MODEL_NAME, model_version=state.runtime.version, warnings=warnings
        ),
    )
    return Response(body, mimetype="application/json")
