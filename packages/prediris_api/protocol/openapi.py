"""The OpenAPI 3.1 description of every route, built from the same constants the code uses.

It describes the deployment it is served by: the API-key scheme and its 401 answers only when keys are
configured, `/metrics` only when it is served on the API port. `invoke lint` runs Redocly's recommended
rules on it, and docs/postman/ is generated from it (prediris_ops/apidocs).
"""

from typing import Any

from prediris_api.protocol.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES
from prediris_api.protocol.v2codec import DATATYPES as V2_DATATYPES
from prediris_api.protocol.v2codec import FP32_OVERFLOW
from prediris_api.protocol.v2codec import OUTPUTS as V2_OUTPUTS
from prediris_model import MODEL_NAME

# The security schemes a key may be sent with (auth.py accepts either).
SECURITY_SCHEMES = {
    "bearerKey": {"type": "http", "scheme": "bearer", "description": "An API key as `Authorization: Bearer <key>`."},
    "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key as `X-API-Key: <key>`."},
}
_DESCRIPTIONS = {
    400: "Invalid request: the problem's `errors` point at each bad value",
    401: "No valid API key; WWW-Authenticate names the scheme",
    404: "Not found",
    405: "Method not allowed; the Allow header lists the methods",
    413: "Body or batch too large",
    415: "Content-Type is declared and is not JSON",
    431: "Request line and headers over the server's limit",
    503: "Overloaded or shutting down; retry after Retry-After",
}


def _problem_responses(*statuses: int) -> dict[str, Any]:
    return {str(status): _problem(status) for status in statuses}


def _problem(status: int) -> dict[str, Any]:
    response = {"description": _DESCRIPTIONS[status], "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"description": "The scheme to authenticate with.", "schema": {"type": "string"}}}
    return response


def _v2_errors(*statuses: int) -> dict[str, Any]:
    """V2 routes answer `{"error": ...}`; a 413 may also come from the HTTP server itself, as problem+json."""
    responses = {}
    for status in statuses:
        response = _problem(status)
        response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/V2Error"}}}
        if status == 413:
            response["content"].update(_problem(413)["content"])
        responses[str(status)] = response
    return responses


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def _operation(
    operation_id: str, summary: str, description: str, responses: dict[str, Any], *, secured: bool = False, **more: Any
) -> dict[str, Any]:
    """An operation that states its security: the key schemes when `secured`, else explicitly none."""
    security: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES] if secured else []
    return {
        "summary": summary,
        "description": description,
        "operationId": operation_id,
        "security": security,
        **more,
        "responses": responses,
    }


def build_spec(
    feature_names: tuple[str, ...],
    class_names: tuple[str, ...],
    max_rows: int,
    version: str,
    *,
    api_keys: bool = False,
    metrics_route: bool = True,
) -> dict[str, Any]:
    """Return the OpenAPI document for a model with these features and classes; `api_keys`: predictions
    need a key; `metrics_route`: /metrics is on the API port."""
    width = len(feature_names)
    measurement = {"type": "number", "minimum": 0, "description": "A measurement in centimetres."}
    row = {
        "type": "array",
        "items": measurement,
        "minItems": width,
        "maxItems": width,
        "description": f"Features in order: {', '.join(feature_names)}.",
    }
    named = {
        "type": "object",
        "properties": {name: measurement for name in feature_names},
        "required": list(feature_names),
        "additionalProperties": False,
    }
    probabilities = {
        "type": "object",
        "properties": {name: {"type": "number", "minimum": 0, "maximum": 1} for name in class_names},
        "required": list(class_names),
        "additionalProperties": False,
    }
    warning = {
        "type": "object",
        "properties": {
            "row": {"type": "integer", "minimum": 0},
            "feature": {"type": "string", "enum": list(feature_names)},
            "value": {"type": "number"},
            "training_range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            "message": {"type": "string"},
        },
        "required": ["feature", "value", "training_range", "message"],
    }
    prediction = {
        "type": "object",
        "properties": {
            "prediction": {"type": "string", "enum": list(class_names)},
            "class_id": {"type": "integer", "minimum": 0, "maximum": len(class_names) - 1},
            "probabilities": probabilities,
        },
        "required": ["prediction", "class_id", "probabilities"],
    }
    # What the server accepts (v2codec.decode_infer): FP32 or FP64, shape [N, width] with 1 <= N <= the
    # batch limit, data flat or nested rows of measurements, FP32 values within float32's range.
    # That data holds N rows is the one rule a schema cannot state: the server answers 400 otherwise.
    v2_input = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "shape": {
                "type": "array",
                "prefixItems": [{"type": "integer", "minimum": 1, "maximum": max_rows}, {"type": "integer", "const": width}],
                "items": False,
                "minItems": 2,
                "maxItems": 2,
                "description": f"[N, {width}]: N rows of {width} features.",
            },
            "datatype": {"type": "string", "enum": list(V2_DATATYPES)},
            "parameters": {"type": "object"},
            "data": {
                "oneOf": [
                    {"type": "array", "items": measurement, "minItems": width, "maxItems": max_rows * width},
                    {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows},
                ],
                "description": f"The N rows: flat (N × {width} numbers) or nested (N rows of {width} numbers).",
            },
        },
        "required": ["name", "shape", "datatype", "data"],
        "if": {"properties": {"datatype": {"const": "FP32"}}},
        "then": {
            "properties": {
                "data": {
                    "items": {
                        "anyOf": [
                            {"type": "number", "exclusiveMaximum": FP32_OVERFLOW},
                            {"type": "array", "items": {"type": "number", "exclusiveMaximum": FP32_OVERFLOW}},
                        ]
                    }
                }
            }
        },
    }
    v2_output = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": list(V2_OUTPUTS)},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
            "datatype": {"type": "string", "enum": ["INT64", "FP64"]},
            "parameters": {"type": "object"},
            "data": {"type": "array", "items": {"type": "number"}},
        },
        "required": ["name", "shape", "datatype", "data"],
    }
    schemas = {
        "PredictRequest": {
            "type": "object",
            "properties": {
                "X": {
                    "oneOf": [row, named, {"type": "array", "items": {"oneOf": [row, named]}, "minItems": 1, "maxItems": max_rows}],
                    "description": "One row of features, one object of named features, or a batch of rows.",
                }
            },
            "required": ["X"],
            "additionalProperties": False,
            "examples": [{"X": [5.1, 3.5, 1.4, 0.2]}],
        },
        "Prediction": prediction,
        "OutOfRangeWarning": warning,
        "PredictResponse": {
            "oneOf": [
                {
                    "allOf": [{"$ref": "#/components/schemas/Prediction"}],
                    "properties": {
                        "model_version": {"type": "string"},
                        "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/OutOfRangeWarning"}},
                    },
                    "required": ["model_version"],
                },
                {
                    "type": "object",
                    "properties": {
                        "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}},
                        "model_version": {"type": "string"},
                        "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/OutOfRangeWarning"}},
                    },
                    "required": ["predictions", "model_version"],
                },
            ]
        },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "properties": {
                "type": {"type": "string", "format": "uri-reference", "enum": [f"/problems/{slug}" for slug in PROBLEM_TYPES]},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
                        "required": ["pointer", "detail"],
                    },
                },
            },
            "required": ["type", "title", "status", "detail"],
        },
        "ProblemType": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "description": {"type": "string"},
            },
            "required": ["type", "title", "status", "description"],
        },
        "Health": {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["live", "ready"]}, "model_version": {"type": "string"}},
            "required": ["status"],
        },
        "ModelCard": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "sha256": {"type": "string"}},
            "required": ["name", "version", "sha256"],
        },
        "Index": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "routes": {"type": "array", "items": {"type": "string"}}},
            "required": ["name", "routes"],
        },
        "V2Tensor": v2_input,
        "V2OutputTensor": v2_output,
        "V2InferenceRequest": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "parameters": {"type": "object"},
                "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"}, "minItems": 1, "maxItems": 1},
                "outputs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string", "enum": list(V2_OUTPUTS)}, "parameters": {"type": "object"}},
                        "required": ["name"],
                    },
                },
            },
            "required": ["inputs"],
            "examples": [{"inputs": [{"name": "input-0", "shape": [1, width], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}],
        },
        "V2InferenceResponse": {
            "type": "object",
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "parameters": {"type": "object"},
                "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2OutputTensor"}, "minItems": 1},
            },
            "required": ["model_name", "outputs"],
        },
        "V2Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
        "V2Server": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "extensions": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name", "version", "extensions"],
        },
        "V2Live": {"type": "object", "properties": {"live": {"type": "boolean"}}, "required": ["live"]},
        "V2Ready": {"type": "object", "properties": {"ready": {"type": "boolean"}}, "required": ["ready"]},
        "V2ModelReady": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
            "required": ["name", "ready"],
        },
        "V2ModelMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": {"type": "object"}},
                "outputs": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["name", "platform", "inputs", "outputs"],
        },
    }
    get_errors = _problem_responses(405, 503)
    model_parameters = [{"$ref": "#/components/parameters/ModelName"}]
    version_parameters = [*model_parameters, {"$ref": "#/components/parameters/ModelVersion"}]
    protected_errors = _problem_responses(401) if api_keys else {}
    paths = {
        "/predict": {
            "post": _operation(
                "predict",
                "Predict the species of one flower or of a batch",
                "Takes one row of measurements, an object of named features, or a list of rows (the batch limit is "
                "`maxItems`). Values outside the training range are predicted, with a warning.",
                {"200": _json("PredictResponse", "Prediction(s)"), **protected_errors, **_problem_responses(400, 405, 413, 415, 431, 503)},
                secured=api_keys,
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}},
                },
            )
        },
        "/health/live": {
            "get": _operation(
                "live",
                "Liveness",
                "Answers while the process runs: restart it only when this fails.",
                {"200": _json("Health", "The process answers"), **get_errors},
            )
        },
        "/health/ready": {
            "get": _operation(
                "ready",
                "Readiness",
                "Ready once the model is loaded and verified, until the replica starts draining (then 503).",
                {"200": _json("Health", "Model loaded and verified"), **get_errors},
            )
        },
        "/model": {
            "get": _operation(
                "modelCard",
                "The model card",
                "The served model's name, version, features, classes and quality; library versions only when "
                "PREDIRIS_EXPOSE_RUNTIME is true.",
                {"200": _json("ModelCard", "The card"), **get_errors},
            )
        },
        "/": {
            "get": _operation(
                "index", "Index", "What this API offers and a first request to try.", {"200": _json("Index", "The index"), **get_errors}
            )
        },
        "/openapi.json": {
            "get": _operation(
                "openapi",
                "This document",
                "The OpenAPI 3.1 description of this deployment.",
                {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}, **get_errors},
            )
        },
        "/problems/{slug}": {
            "get": _operation(
                "problemType",
                "Documentation of a problem type",
                "What a problem's `type` means and how to fix it.",
                {"200": _json("ProblemType", "The problem type"), **_problem_responses(404, 405, 503)},
                parameters=[{"name": "slug", "in": "path", "required": True, "schema": {"type": "string", "enum": list(PROBLEM_TYPES)}}],
            )
        },
        "/v2": {
            "get": _operation(
                "v2Server",
                "Server metadata (V2)",
                "Open Inference Protocol server metadata.",
                {"200": _json("V2Server", "Server metadata"), **get_errors},
            )
        },
        "/v2/health/live": {
            "get": _operation(
                "v2Live", "Server live (V2)", "Open Inference Protocol liveness.", {"200": _json("V2Live", "Live"), **get_errors}
            )
        },
        "/v2/health/ready": {
            "get": _operation(
                "v2Ready",
                "Server ready (V2)",
                "Open Inference Protocol readiness: 503 with ready false while draining.",
                {"200": _json("V2Ready", "Ready"), "503": _json("V2Ready", "Draining"), **_problem_responses(405)},
            )
        },
    }
    for suffix, parameters, id_suffix, which in (
        ("", model_parameters, "", "the served model"),
        ("/versions/{version}", version_parameters, "Version", "the served model at this version (404 for another version)"),
    ):
        base = f"/v2/models/{{name}}{suffix}"
        paths[base] = {
            "get": _operation(
                f"v2ModelMetadata{id_suffix}",
                f"Model metadata (V2){' by version' if suffix else ''}",
                f"Inputs, outputs and platform of {which}.",
                {"200": _json("V2ModelMetadata", "Metadata"), **_v2_errors(404), **get_errors},
                parameters=parameters,
            )
        }
        paths[f"{base}/ready"] = {
            "get": _operation(
                f"v2ModelReady{id_suffix}",
                f"Model ready (V2){' by version' if suffix else ''}",
                f"Readiness of {which}: 503 with ready false while draining.",
                {
                    "200": _json("V2ModelReady", "Ready"),
                    "503": _json("V2ModelReady", "Draining"),
                    **_v2_errors(404),
                    **_problem_responses(405),
                },
                parameters=parameters,
            )
        }
        paths[f"{base}/infer"] = {
            "post": _operation(
                f"v2Infer{id_suffix}",
                f"Inference (V2){' by version' if suffix else ''}",
                f"Open Inference Protocol inference with {which}. A missing Content-Type is accepted (V2 clients may "
                "omit it); a declared non-JSON one answers 415.",
                {
                    "200": _json("V2InferenceResponse", "Outputs"),
                    **_v2_errors(400, *([401] if api_keys else []), 404, 413, 415),
                    **_problem_responses(405, 503),
                },
                secured=api_keys,
                parameters=parameters,
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V2InferenceRequest"}}},
                },
            )
        }
    if metrics_route:
        paths["/metrics"] = {
            "get": _operation(
                "metrics",
                "Prometheus metrics",
                "The Prometheus text exposition. Served here only when PREDIRIS_METRICS_PORT is unset.",
                {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}, **get_errors},
            )
        }
    components = {
        "schemas": schemas,
        "parameters": {
            "ModelName": {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": [MODEL_NAME]}},
            "ModelVersion": {"name": "version", "in": "path", "required": True, "schema": {"type": "string", "enum": [version]}},
        },
    }
    if api_keys:
        components["securitySchemes"] = SECURITY_SCHEMES
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "prediris",
            "version": version,
            "summary": "Iris species from flower measurements, by a verified scikit-learn KNN model.",
            "description": "Predictions over JSON, errors as RFC 9457 problem details, and the Open Inference Protocol V2 routes.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/", "description": "The server answering this document"}],
        "paths": paths,
        "components": components,
    }
