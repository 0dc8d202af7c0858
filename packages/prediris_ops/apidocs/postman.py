"""The Postman collection in docs/postman/, generated from the OpenAPI description (never edited by hand).

One request per operation of the description (its summary, method, path, example body, and whether it
needs a key), then examples: one flower, a batch, named features, and each error a client can cause.
Every request tests its answer (status, and the problem type or V2 error), so newman runs the
collection against a live API as a contract test:
    newman run docs/postman/prediris.postman_collection.json --env-var baseUrl=http://127.0.0.1:5000 --env-var apiKey=KEY
Regenerate with `invoke postman`; tests/ops/test_apidocs.py fails when the committed file differs.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from prediris_api.settings import Settings
from prediris_ops.apidocs.document import describe
from prediris_ops.core import npmtools
from prediris_ops.core.paths import ROOT

COLLECTION_PATH = ROOT / "docs" / "postman" / "prediris.postman_collection.json"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
# OpenAPI path parameters -> collection variables.
PATH_VARIABLES = {"name": "modelName", "version": "modelVersion", "slug": "problemSlug"}
ONE_FLOWER = [5.1, 3.5, 1.4, 0.2]
# The V2 model metadata request stores the served version here for the /versions/{version} requests.
STORE_VERSION = 'pm.collectionVariables.set("modelVersion", pm.response.json().versions[0]);'


@dataclass(frozen=True)
class Example:
    """A request beyond the description's own: its operation, and what it sends and expects."""

    operation_id: str
    name: str
    status: int
    body: object = None
    raw: str | None = None
    content_type: str = "application/json"
    problem: str | None = None
    v2_error: bool = False
    # Expected answer of a success: the species predicted, one per row (in order).
    species: tuple[str, ...] = ()
    # Another method or path than the operation's (a 404 or 405 example).
    method: str | None = None
    path: str | None = None
    prerequest: tuple[str, ...] = ()
    headers: dict = field(default_factory=dict)
    no_auth: bool = False


def _big_body(expression: str) -> tuple[str, ...]:
    return (f'pm.variables.set("generatedBody", {expression});',)


EXAMPLES = (
    Example("predict", "One flower", 200, {"X": ONE_FLOWER}, species=("setosa",)),
    Example("predict", "A batch of flowers", 200, {"X": [ONE_FLOWER, [6.7, 3.0, 5.2, 2.3]]}, species=("setosa", "virginica")),
    Example(
        "predict",
        "Named features",
        200,
        {"X": {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 4.2, "petal_width": 1.5}},
        species=("versicolor",),
    ),
    Example("predict", "Error: invalid JSON", 400, raw='{"X": [5.1, 3.5,', problem="invalid-json"),
    Example("predict", "Error: empty body", 400, raw="", problem="empty-body"),
    Example("predict", "Error: not JSON", 415, raw="X=5.1,3.5,1.4,0.2", content_type="text/plain", problem="unsupported-media-type"),
    Example("predict", "Error: not an object", 400, ONE_FLOWER, problem="not-an-object"),
    Example("predict", "Error: missing X", 400, {"x": ONE_FLOWER}, problem="missing-field"),
    Example("predict", "Error: unknown member", 400, {"X": ONE_FLOWER, "model": "knn"}, problem="unknown-field"),
    Example("predict", "Error: wrong number of features", 400, {"X": [5.1, 3.5]}, problem="invalid-shape"),
    Example("predict", "Error: negative and non-numeric values", 400, {"X": [5.1, -3.5, "wide", 0.2]}, problem="invalid-value"),
    Example(
        "predict",
        "Error: batch over the limit",
        413,
        raw="{{generatedBody}}",
        problem="batch-too-large",
        prerequest=_big_body('JSON.stringify({X: Array(Number(pm.variables.get("maxBatchRows")) + 1).fill([5.1, 3.5, 1.4, 0.2])})'),
    ),
    Example(
        "predict",
        "Error: body over the size limit",
        413,
        raw="{{generatedBody}}",
        problem="body-too-large",
        prerequest=_big_body('JSON.stringify({X: [5.1, 3.5, 1.4, 0.2]}) + " ".repeat(Number(pm.variables.get("maxBodyBytes")))'),
    ),
    Example(
        "predict",
        "Error: headers too large",
        431,
        {"X": ONE_FLOWER},
        problem="headers-too-large",
        prerequest=('pm.request.headers.add({key: "X-Padding", value: "a".repeat(17 * 1024)});',),
    ),
    Example("predict", "Error: no API key", 401, {"X": ONE_FLOWER}, problem="unauthorized", no_auth=True),
    Example("predict", "Error: unknown route", 404, method="GET", path="/predictions", problem="not-found", no_auth=True),
    Example("predict", "Error: wrong method", 405, method="GET", problem="method-not-allowed", no_auth=True),
    Example("v2Infer", "V2 error: bad tensor", 400, {"inputs": []}, v2_error=True),
    Example("v2Infer", "V2 error: unknown model", 404, {"inputs": []}, path="/v2/models/resnet/infer", v2_error=True),
    Example("v2Infer", "V2 error: not JSON", 415, raw="inputs", content_type="text/plain", v2_error=True),
)


def _url(path: str) -> dict:
    path = re.sub(r"\{(\w+)\}", lambda match: "{{" + PATH_VARIABLES[match.group(1)] + "}}", path)
    segments = [segment for segment in path.split("/") if segment]
    return {"raw": "{{baseUrl}}" + path, "host": ["{{baseUrl}}"], "path": segments}


def _tests(
    status: int, *, problem: str | None = None, v2_error: bool = False, unauthorized: bool = False, species: tuple[str, ...] = ()
) -> list[str]:
    expect_status = f'pm.test("status is {status}", function () {{ pm.response.to.have.status({status}); }});'
    if unauthorized:
        # 401 only when the API has keys, which a collection run with an apiKey implies.
        return [
            'if (pm.variables.get("apiKey")) {',
            "  " + expect_status,
            '  pm.test("challenge names the Bearer scheme", function () {',
            '    pm.expect(pm.response.headers.get("WWW-Authenticate")).to.include("Bearer");',
            "  });",
            "} else {",
            '  pm.test("no key configured: status is 200", function () { pm.response.to.have.status(200); });',
            "}",
        ]
    lines = [expect_status]
    if species:
        answer = (
            "[pm.response.json().prediction]"
            if len(species) == 1
            else "pm.response.json().predictions.map(function (p) { return p.prediction; })"
        )
        lines += [
            f'pm.test("predicts {", ".join(species)}", function () {{',
            f"  pm.expect({answer}).to.eql({json.dumps(list(species))});",
            "});",
        ]
    if problem:
        lines += [
            f'pm.test("problem type is {problem}", function () {{',
            '  pm.expect(pm.response.headers.get("Content-Type")).to.include("application/problem+json");',
            f'  pm.expect(pm.response.json().type).to.eql("/problems/{problem}");',
            "});",
        ]
    if v2_error:
        lines += [
            'pm.test("error in the V2 form", function () {',
            '  pm.expect(Object.keys(pm.response.json())).to.eql(["error"]);',
            "});",
        ]
    return lines


def _request(method: str, path: str, operation: dict, *, body=None, raw=None, content_type="application/json", headers=None) -> dict:
    request: dict[str, Any] = {
        "method": method.upper(),
        "header": [{"key": key, "value": value} for key, value in (headers or {}).items()],
        "url": _url(path),
    }
    if body is not None or raw is not None:
        request["header"].insert(0, {"key": "Content-Type", "value": content_type})
        request["body"] = {"mode": "raw", "raw": raw if raw is not None else json.dumps(body)}
    request["description"] = operation["description"]
    return request


def _item(name: str, request: dict, secured: bool, tests: list[str], prerequest: tuple[str, ...] = ()) -> dict:
    item = {"name": name, "request": request}
    if not secured:
        request["auth"] = {"type": "noauth"}
    events = []
    if prerequest:
        events.append({"listen": "prerequest", "script": {"type": "text/javascript", "exec": list(prerequest)}})
    events.append({"listen": "test", "script": {"type": "text/javascript", "exec": tests}})
    item["event"] = events
    return item


def _operations(spec: dict) -> dict[str, tuple[str, str, dict]]:
    return {
        operation["operationId"]: (method, path, operation) for path, item in spec["paths"].items() for method, operation in item.items()
    }


def build_collection() -> dict:
    """Return the collection for a default server with API keys and /metrics on its port."""
    spec = describe(api_keys=True, metrics_route=True)
    schemas = spec["components"]["schemas"]
    operations = _operations(spec)
    folders: dict[str, list] = {"Operations": [], "Examples": [], "Errors": []}
    for operation_id, (method, path, operation) in operations.items():
        secured = bool(operation["security"])
        body = None
        if "requestBody" in operation:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            body = schemas[ref.rsplit("/", 1)[-1]]["examples"][0]
        tests = _tests(200)
        if operation_id == "v2ModelMetadata":
            tests.append(STORE_VERSION)
        request = _request(method, path, operation, body=body)
        folders["Operations"].append(_item(operation["summary"], request, secured, tests))
    for example in EXAMPLES:
        method, path, operation = operations[example.operation_id]
        if example.method is None and example.path is None and str(example.status) not in operation["responses"]:
            raise ValueError(f"example {example.name!r}: {example.operation_id} does not document status {example.status}")
        request = _request(
            example.method or method,
            example.path or path,
            operation,
            body=example.body,
            raw=example.raw,
            content_type=example.content_type,
            headers=example.headers,
        )
        tests = _tests(
            example.status, problem=example.problem, v2_error=example.v2_error, unauthorized=example.status == 401, species=example.species
        )
        secured = bool(operation["security"]) and not example.no_auth
        folder = "Errors" if example.status >= 400 else "Examples"
        folders[folder].append(_item(example.name, request, secured, tests, example.prerequest))
    predict_schema = schemas["PredictRequest"]["properties"]["X"]["oneOf"][2]
    return {
        "info": {
            "name": spec["info"]["title"],
            "description": (
                f"{spec['info']['summary']} Generated from the OpenAPI description by prediris_ops.apidocs.postman: "
                "do not edit, run `invoke postman`. Set baseUrl, and apiKey when the API has keys."
            ),
            "schema": SCHEMA,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}]},
        "variable": [
            {"key": "baseUrl", "value": "http://127.0.0.1:5000"},
            {"key": "apiKey", "value": ""},
            {"key": "modelName", "value": "iris-knn"},
            {"key": "modelVersion", "value": ""},
            {"key": "problemSlug", "value": "invalid-json"},
            {"key": "maxBatchRows", "value": str(predict_schema["maxItems"])},
            {"key": "maxBodyBytes", "value": str(Settings().max_body_bytes)},
        ],
        "item": [{"name": name, "item": items} for name, items in folders.items()],
    }


def render() -> str:
    """Return the collection as the committed file's text."""
    return json.dumps(build_collection(), indent=2, ensure_ascii=False) + "\n"


def write() -> bool:
    """Write the collection; return True when the file changed."""
    text = render()
    if COLLECTION_PATH.is_file() and COLLECTION_PATH.read_text() == text:
        return False
    COLLECTION_PATH.parent.mkdir(parents=True, exist_ok=True)
    COLLECTION_PATH.write_text(text)
    return True


NEWMAN_VERSION = "6.2.2"


def newman_argv(base_url: str, api_key: str = "") -> list[str]:
    """Return the newman command that runs the committed collection against `base_url` (installing newman
    into the project's cache folder on first use); raises npmtools.NpmToolError without node or npm."""
    newman = npmtools.ensure_package("newman", NEWMAN_VERSION, "bin/newman.js")
    argv = [
        npmtools.node(),
        str(newman),
        "run",
        str(COLLECTION_PATH),
        "--env-var",
        f"baseUrl={base_url}",
        "--reporters",
        "cli",
        "--disable-unicode",
    ]
    return argv + (["--env-var", f"apiKey={api_key}"] if api_key else [])
