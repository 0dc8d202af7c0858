"""Request decoding and validation, and response encoding: the layer between HTTP and the model.

Decoders turn a body into a float64 array of shape (rows, features) or raise a `Problem` whose `errors`
point (RFC 6901) at every offending value. Encoders build the JSON replies. Nothing here knows
about Flask routing or scikit-learn.
"""

import json
import math
import sys
from typing import Any, NamedTuple, NoReturn

import numpy as np

from prediris_api.protocol.problems import ECHO_NAMES, Problem, shown, shown_names

MAX_REPORTED_ERRORS = 10
JSON_MEDIA_TYPES = ("application/json",)
_ALIASES = {"x", "inputs", "instances", "data", "features", "rows", "x_test", "input"}


class PredictRequest(NamedTuple):
    rows: np.ndarray
    batch: bool


def check_media_type(mimetype: str | None) -> None:
    """Accept application/json and any application/*+json type (parameters such as charset are fine)."""
    if mimetype in JSON_MEDIA_TYPES or (mimetype and mimetype.startswith("application/") and mimetype.endswith("+json")):
        return
    shown = mimetype or "none"
    raise Problem("unsupported-media-type", f"Content-Type is {shown}; send the body as application/json")


class _ConstantError(ValueError):
    """NaN, Infinity or -Infinity in a body: Python's json accepts them, JSON does not."""


def _reject_constant(name: str) -> NoReturn:
    raise _ConstantError(f"{name} is not a JSON value; send finite numbers")


# Built once: json.loads/json.dumps with any option build a new decoder/encoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_JSON_WHITESPACE = " \t\n\r"


def parse_json(body: bytes) -> Any:
    """Parse a UTF-8 JSON body (RFC 8259) strictly: no NaN/Infinity literals, bounded nesting."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Problem("invalid-json", f"the body is not UTF-8 text: invalid byte at position {error.start}") from None
    if not text or text.isspace():
        raise Problem("empty-body", 'the body is empty; send a JSON object such as {"X": [5.1, 3.5, 1.4, 0.2]}')
    try:
        return _decode(text)
    except json.JSONDecodeError as error:
        raise Problem("invalid-json", f"the body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise Problem("invalid-json", "the body nests arrays or objects too deeply to be a prediction request") from None
    except _ConstantError as error:
        raise Problem("invalid-json", f"the body is not valid JSON: {error}") from None
    except ValueError:  # an integer beyond the interpreter's digit limit (CPython's message names an internal switch)
        raise Problem(
            "invalid-json", f"the body holds an integer of more than {sys.get_int_max_str_digits()} digits; send measurements as numbers"
        ) from None


def _decode(text: str) -> Any:
    """`_DECODER.decode(text)`, without its two whitespace scans when the text has none around it."""
    if text[0] not in _JSON_WHITESPACE:
        document, end = _DECODER.raw_decode(text)
        if end == len(text) or not text[end:].strip(_JSON_WHITESPACE):
            return document
    return _DECODER.decode(text)  # skips leading whitespace, or raises "Extra data" where decode() does


class ErrorList:
    """Collects pointer/detail pairs; the first problem slug decides the status."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.slug = ""

    def add(self, slug: str, pointer: str, detail: str) -> None:
        self.slug = self.slug or slug
        if len(self.items) < MAX_REPORTED_ERRORS:
            self.items.append({"pointer": pointer, "detail": detail})

    def raise_if_any(self, summary: str) -> None:
        if self.items:
            first = self.items[0]["detail"]
            more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
            raise Problem(self.slug, f"{summary}: {self.items[0]['pointer']} {first}{more}", self.items)


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"the string {json.dumps(shown)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _number(value: Any, pointer: str, errors: ErrorList) -> float:
    kind = type(value)
    if kind is float:
        number: float = value
    elif kind is int:
        try:
            number = float(value)
        except OverflowError:
            errors.add("invalid-value", pointer, "is too large to be a measurement")
            return 0.0
    else:
        if isinstance(value, (list, dict)):
            errors.add("invalid-shape", pointer, f"must be a number, got {_describe(value)} (nested deeper than a batch of rows)")
        else:
            errors.add("invalid-value", pointer, f"must be a number, got {_describe(value)}")
        return 0.0
    if not math.isfinite(number):
        errors.add("invalid-value", pointer, "overflows to infinity; send a finite number")
        return 0.0
    if number < 0:
        errors.add("invalid-value", pointer, f"is {number:g}; measurements cannot be negative")
    return number


class PredictDecoder:
    """Decodes `POST /predict` bodies for a model with the given feature names."""

    def __init__(self, feature_names: tuple[str, ...], max_rows: int):
        self.feature_names = feature_names
        self.width = len(feature_names)
        self.max_rows = max_rows
        self._known = set(feature_names)

    def decode(self, body: bytes) -> PredictRequest:
        document = parse_json(body)
        if type(document) is not dict:
            raise Problem("not-an-object", f'the body is {_describe(document)}; send an object such as {{"X": [5.1, 3.5, 1.4, 0.2]}}')
        if "X" not in document:
            raise Problem("missing-field", _missing_x_detail(document), [{"pointer": "/X", "detail": "is required"}])
        if len(document) > 1:
            unknown = sorted(key for key in document if key != "X")
            raise Problem(
                "unknown-field",
                f'unknown member{"s" if len(unknown) > 1 else ""} {shown_names(unknown)}; the body takes only "X"',
                [{"pointer": _pointer("", shown(key)), "detail": "is not a known member"} for key in unknown[:ECHO_NAMES]],
            )
        x = document["X"]
        # Fast path: one row of plain floats, the shape of almost every request.
        if type(x) is list and len(x) == self.width and all(type(v) is float and 0.0 <= v < math.inf for v in x):
            return PredictRequest(np.array((x,), dtype=np.float64), batch=False)
        errors = ErrorList()
        if type(x) is dict:
            row = self._named_row(x, "/X", errors)
            errors.raise_if_any("invalid features")
            return PredictRequest(np.array((row,), dtype=np.float64), batch=False)
        if type(x) is not list:
            raise Problem(
                "invalid-shape",
                f'"X" is {_describe(x)}; send a row of {self.width} numbers, an object of named features, or a list of rows',
                [{"pointer": "/X", "detail": "must be an array or an object"}],
            )
        if not x:
            raise Problem(
                "invalid-shape",
                f'"X" is empty; send one row of {self.width} numbers or a non-empty list of rows',
                [{"pointer": "/X", "detail": "must not be empty"}],
            )
        if all(type(item) in (list, dict) for item in x):
            return self._batch(x, errors)
        if any(type(item) in (list, dict) for item in x):
            raise Problem(
                "invalid-shape",
                '"X" mixes numbers and rows; send either one row or a list of rows',
                [{"pointer": "/X", "detail": "mixes numbers and rows"}],
            )
        row = self._row(x, "/X", errors)
        errors.raise_if_any("invalid features")
        return PredictRequest(np.array((row,), dtype=np.float64), batch=False)

    def _batch(self, rows: list[Any], errors: ErrorList) -> PredictRequest:
        if len(rows) > self.max_rows:
            raise Problem(
                "batch-too-large",
                f"the batch has {len(rows)} rows, over the limit of {self.max_rows}; split it",
                [{"pointer": "/X", "detail": f"has {len(rows)} rows"}],
            )
        decoded = [
            self._named_row(row, f"/X/{index}", errors) if type(row) is dict else self._row(row, f"/X/{index}", errors)
            for index, row in enumerate(rows)
        ]
        errors.raise_if_any("invalid batch")
        return PredictRequest(np.array(decoded, dtype=np.float64), batch=True)

    def _row(self, values: list[Any], pointer: str, errors: ErrorList) -> list[float]:
        if len(values) != self.width:
            errors.add("invalid-shape", pointer, f"has {len(values)} values; expected {self.width} ({', '.join(self.feature_names)})")
            return [0.0] * self.width
        return [_number(value, f"{pointer}/{index}", errors) for index, value in enumerate(values)]

    def _named_row(self, values: dict[str, Any], pointer: str, errors: ErrorList) -> list[float]:
        for key in values:
            if key not in self._known:
                errors.add(
                    "unknown-field", _pointer(pointer, shown(key)), f"is not a feature; the features are {', '.join(self.feature_names)}"
                )
        row = []
        for name in self.feature_names:
            if name not in values:
                errors.add("missing-field", _pointer(pointer, name), "is required")
                row.append(0.0)
            else:
                row.append(_number(values[name], _pointer(pointer, name), errors))
        return row


def _pointer(base: str, key: str) -> str:
    return f"{base}/{key.replace('~', '~0').replace('/', '~1')}"


def _missing_x_detail(document: dict[str, Any]) -> str:
    near = [key for key in document if key.strip().lower() in _ALIASES]
    if near:
        return f'"X" is required; found {json.dumps(near[0])} — did you mean "X"? (member names are case-sensitive)'
    return '"X" is required, e.g. {"X": [5.1, 3.5, 1.4, 0.2]}'


def check_numbers(values: list[Any], pointer: str, errors: ErrorList) -> list[float]:
    """Validate a flat list of feature values (used by the V2 codec)."""
    return [_number(value, f"{pointer}/{index}", errors) for index, value in enumerate(values)]


def dumps(document: object) -> bytes:
    """Encode a reply compactly; NaN can never be produced by the model's probabilities."""
    return _ENCODER.encode(document).encode()


def _literal(text: str) -> str:
    """Escape `text` for a %-template."""
    return text.replace("%", "%%")


class PredictEncoder:
    """Builds `/predict` replies from class ids and probabilities."""

    def __init__(self, class_names: tuple[str, ...], model_version: str):
        self.class_names = class_names
        self.model_version = model_version
        # The reply to one row without warnings, the most common one, is a %-template per class filled
        # with the probabilities: `%r` writes a float exactly as the JSON encoder does (`float.__repr__`).
        keys = ",".join(_literal(dumps(key).decode() + ":") + "%r" for key in class_names)
        tail = _literal("}," + dumps({"model_version": model_version}).decode()[1:])
        self._single = [
            _literal(dumps({"prediction": name, "class_id": label})[:-1].decode() + ',"probabilities":{') + keys + tail
            for label, name in enumerate(class_names)
        ]

    def row(self, label: int, proba: list[float]) -> dict[str, Any]:
        return {
            "prediction": self.class_names[label],
            "class_id": label,
            "probabilities": dict(zip(self.class_names, proba, strict=True)),
        }

    def encode(self, request: PredictRequest, labels: np.ndarray, proba: np.ndarray, warnings: list[dict[str, Any]]) -> bytes:
        label_list = labels.tolist()
        proba_list = proba.tolist()
        if not request.batch and not warnings:
            return self._encode_single(label_list[0], proba_list[0])
        document: dict[str, Any]
        if request.batch:
            document = {
                "predictions": [self.row(label, p) for label, p in zip(label_list, proba_list, strict=True)],
                "model_version": self.model_version,
            }
        else:
            document = self.row(label_list[0], proba_list[0])
            document["model_version"] = self.model_version
        if warnings:
            if not request.batch:
                warnings = [{key: value for key, value in item.items() if key != "row"} for item in warnings]
            document["warnings"] = warnings
        return dumps(document)

    def _encode_single(self, label: int, proba: list[float]) -> bytes:
        return (self._single[label] % tuple(proba)).encode()
