"""The OpenAPI 3.1 description of every route, built from the same constants the code uses."""

from typing import Any

from prediris_api.protocol.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES
from prediris_model import MODEL_NAME


def _problem_responses(*statuses: int) -> dict[str, Any]:
    descriptions = {
        400: "Invalid request",
        404: "Unknown route",
        405: "Method not allowed",
        413: "Body or batch too large",
        415: "Content-Type is not JSON",
        503: "Overloaded or shutting down; retry after Retry-After",
    }
    return {
        str(status): {
            "description": descriptions[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def build_spec(feature_names: tuple[str, ...], class_names: tuple[str, ...], max_rows: int, version: str) -> dict[str, Any]:
    """Return the OpenAPI document for a model with these features and classes."""
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
    v2_tensor = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "datatype": {"type": "string"},
            "parameters": {"type": "object"},
            "data": {"type": "array"},
        },
        "required": ["name", "shape", "datatype", "data"],
    }
    v2_error = {
        "description": "Error (Open Inference Protocol)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V2Error"}}},
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
                    "properties": {"model_version": {"type": "string"}, "warnings": {"type": "array", "items": warning}},
                    "required": ["model_version"],
                },
                {
                    "type": "object",
                    "properties": {
                        "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}},
                        "model_version": {"type": "string"},
                        "warnings": {"type": "array", "items": warning},
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
        "V2Tensor": v2_tensor,
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
                        "properties": {"name": {"type": "string", "enum": ["predict", "predict_proba"]}, "parameters": {"type": "object"}},
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
                "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"}},
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
    paths = {
        "/predict": {
            "post": {
                "summary": "Predict the species of one flower or of a batch",
                "operationId": "predict",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}},
                },
                "responses": {"200": _json("PredictResponse", "Prediction(s)"), **_problem_responses(400, 405, 413, 415, 503)},
            }
        },
        "/health/live": {
            "get": {
                "summary": "Liveness",
                "operationId": "live",
                "responses": {"200": _json("Health", "The process answers"), **get_errors},
            }
        },
        "/health/ready": {
            "get": {
                "summary": "Readiness",
                "operationId": "ready",
                "responses": {"200": _json("Health", "Model loaded and verified"), **get_errors},
            }
        },
        "/model": {
            "get": {
                "summary": "The model card",
                "operationId": "modelCard",
                "responses": {"200": _json("ModelCard", "The card"), **get_errors},
            }
        },
        "/": {
            "get": {"summary": "Index", "operationId": "index", "responses": {"200": _json("Index", "What this API offers"), **get_errors}}
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}},
                    **get_errors,
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "responses": {
                    "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    **get_errors,
                },
            }
        },
        "/problems/{slug}": {
            "get": {
                "summary": "Documentation of a problem type",
                "operationId": "problemType",
                "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json("ProblemType", "The problem type"), **_problem_responses(404, 405, 503)},
            }
        },
        "/v2": {
            "get": {
                "summary": "Server metadata (Open Inference Protocol)",
                "operationId": "v2Server",
                "responses": {"200": _json("V2Server", "Server metadata"), **get_errors},
            }
        },
        "/v2/health/live": {
            "get": {"summary": "Server live (V2)", "operationId": "v2Live", "responses": {"200": _json("V2Live", "Live"), **get_errors}}
        },
        "/v2/health/ready": {
            "get": {"summary": "Server ready (V2)", "operationId": "v2Ready", "responses": {"200": _json("V2Ready", "Ready"), **get_errors}}
        },
        f"/v2/models/{MODEL_NAME}": {
            "get": {
                "summary": "Model metadata (V2)",
                "operationId": "v2ModelMetadata",
                "responses": {"200": _json("V2ModelMetadata", "Metadata"), **get_errors},
            }
        },
        f"/v2/models/{MODEL_NAME}/ready": {
            "get": {
                "summary": "Model ready (V2)",
                "operationId": "v2ModelReady",
                "responses": {"200": _json("V2ModelReady", "Ready"), **get_errors},
            }
        },
        f"/v2/models/{MODEL_NAME}/infer": {
            "post": {
                "summary": "Inference (Open Inference Protocol V2)",
                "operationId": "v2Infer",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V2InferenceRequest"}}},
                },
                "responses": {"200": _json("V2InferenceResponse", "Outputs"), "400": v2_error, **_problem_responses(405, 413, 503)},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "prediris",
            "version": version,
            "summary": "Iris species from flower measurements, by a verified scikit-learn KNN model.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
