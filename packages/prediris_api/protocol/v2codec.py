"""Open Inference Protocol V2 (KServe, MLServer, Triton) request decoding and response encoding."""

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from prediris_api.protocol.codecs import ErrorList, check_numbers, dumps
from prediris_api.protocol.problems import Problem, shown, shown_names

DATATYPES: dict[str, type[np.floating]] = {"FP32": np.float32, "FP64": np.float64}
OUTPUTS = ("predict", "predict_proba")
_MEMBERS = {"id", "parameters", "inputs", "outputs"}
# The largest finite value of each datatype: JSON numbers beyond it overflow to infinity in the cast.
_LIMITS = {"FP32": float(np.finfo(np.float32).max), "FP64": float(np.finfo(np.float64).max)}
# The smallest float64 the cast to float32 rounds to infinity (max + half a unit in the last place):
# the OpenAPI description's exclusiveMaximum for FP32 data, so that it states exactly what the cast refuses.
FP32_OVERFLOW = 2.0**128 - 2.0**103
DATA_POINTER = "/inputs/0/data"


@dataclass(frozen=True)
class InferRequest:
    rows: np.ndarray
    outputs: tuple[str, ...]
    id: str | None


def _bad(detail: str) -> Problem:
    return Problem("bad-request", detail)


def decode_infer(document: Any, width: int, max_rows: int) -> InferRequest:
    """Decode `{"inputs": [{"name", "shape": [N, 4], "datatype": "FP32"|"FP64", "data": [...]}]}`."""
    if type(document) is not dict:
        raise _bad('the inference request must be a JSON object with an "inputs" member')
    unknown = sorted(set(document) - _MEMBERS)
    if unknown:
        raise _bad(f"unknown member(s) {shown_names(unknown)}; an inference request takes id, parameters, inputs, outputs")
    request_id = document.get("id")
    if request_id is not None and type(request_id) is not str:
        raise _bad('"id" must be a string')
    inputs = document.get("inputs")
    if type(inputs) is not list or len(inputs) != 1:
        raise _bad(f'"inputs" must be a list of exactly one tensor of shape [N, {width}]')
    tensor = inputs[0]
    if type(tensor) is not dict:
        raise _bad("inputs[0] must be a tensor object with name, shape, datatype and data")
    for member in ("name", "shape", "datatype", "data"):
        if member not in tensor:
            raise _bad(f'inputs[0] has no "{member}"')
    datatype = tensor["datatype"]
    if type(datatype) is not str or datatype not in DATATYPES:  # a JSON object is unhashable: check the type first
        raise _bad(f"inputs[0].datatype is {shown(json.dumps(datatype))}; use FP32 or FP64")
    shape = tensor["shape"]
    if type(shape) is not list or len(shape) != 2 or any(type(dim) is not int for dim in shape) or shape[1] != width or shape[0] < 1:
        raise _bad(f"inputs[0].shape is {shown(json.dumps(shape))}; use [N, {width}] with N >= 1")
    rows = shape[0]
    if rows > max_rows:
        raise _bad(f"inputs[0] has {rows} rows, over the limit of {max_rows}; split the request")
    data = tensor["data"]
    if type(data) is not list:
        raise _bad("inputs[0].data must be a list of numbers (flat or nested)")
    nested = bool(data) and all(type(item) is list for item in data)
    if nested:
        if len(data) != rows or any(len(row) != width for row in data):
            raise _bad(f"inputs[0].data is nested but not of shape [{rows}, {width}]")
    elif len(data) != rows * width:
        raise _bad(f"inputs[0].data has {len(data)} values; shape [{rows}, {width}] needs {rows * width}")
    errors = ErrorList()
    if nested:
        values = [value for index, row in enumerate(data) for value in check_numbers(row, f"{DATA_POINTER}/{index}", errors)]
    else:
        values = check_numbers(data, DATA_POINTER, errors)
    if errors.items:
        first = errors.items[0]
        raise _bad(f"inputs[0].data value at {first['pointer']} {first['detail']}")
    with np.errstate(over="ignore"):  # a value beyond the datatype's range becomes inf: refused below
        typed = np.array(values, dtype=DATATYPES[datatype])
    if not np.isfinite(typed).all():
        index = int(np.flatnonzero(~np.isfinite(typed))[0])
        pointer = f"{DATA_POINTER}/{index // width}/{index % width}" if nested else f"{DATA_POINTER}/{index}"
        raise _bad(f"inputs[0].data value at {pointer} is beyond the range of {datatype} (±{_LIMITS[datatype]:.4g}); send it as FP64")
    return InferRequest(typed.astype(np.float64).reshape(rows, width), _requested_outputs(document.get("outputs")), request_id)


def _requested_outputs(outputs: Any) -> tuple[str, ...]:
    if outputs is None:
        return ("predict",)
    if type(outputs) is not list or not outputs:
        raise _bad('"outputs" must be a non-empty list of {"name": ...} objects')
    names = []
    for item in outputs:
        name = item.get("name") if type(item) is dict else None
        if name not in OUTPUTS:
            raise _bad(f"unknown output {shown(json.dumps(name))}; the outputs are predict and predict_proba")
        names.append(name)
    return tuple(dict.fromkeys(names))


def encode_infer(
    request: InferRequest, labels: np.ndarray, proba: np.ndarray, *, model_name: str, model_version: str, warnings: list[dict[str, Any]]
) -> bytes:
    """Build the V2 inference response with the requested outputs."""
    outputs: list[dict[str, Any]] = []
    for name in request.outputs:
        if name == "predict":
            outputs.append({"name": "predict", "shape": [len(labels)], "datatype": "INT64", "data": labels.astype(np.int64).tolist()})
        else:
            outputs.append({"name": "predict_proba", "shape": list(proba.shape), "datatype": "FP64", "data": proba.ravel().tolist()})
    document: dict[str, Any] = {"model_name": model_name, "model_version": model_version, "outputs": outputs}
    if request.id is not None:
        document["id"] = request.id
    if warnings:
        document["parameters"] = {"warnings": warnings}
    return dumps(document)
