"""The Postman collection in docs/postman/, converted from the OpenAPI description by openapi-to-postmanv2.

The converter (npm, pinned) writes one request per operation with its documented responses. Our glue
is small: it hands the converter a description whose request bodies and path parameters carry the
examples the schemas already hold, then gives the collection its variables (`baseUrl`, `apiKey`),
sends the key as `X-API-Key`, and adds one test to each request: the status is one the description
documents for it, and a success. newman runs the collection against a live API as a contract test:
    newman run docs/postman/prediris.postman_collection.json --env-var baseUrl=http://127.0.0.1:5000 --env-var apiKey=KEY
Regenerate with `invoke postman`; tests/ops/test_apidocs.py fails when the committed file differs.
"""

import copy
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prediris_ops.apidocs.document import describe
from prediris_ops.core import npmtools
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import run

COLLECTION_PATH = ROOT / "docs" / "postman" / "prediris.postman_collection.json"
CONVERTER = ("openapi-to-postmanv2", "6.3.3", "bin/openapi2postmanv2.js")
CONVERTER_OPTIONS = "folderStrategy=Paths,parametersResolution=Example"
NEWMAN_VERSION = "6.2.2"
# The served model version is known only at run time: the V2 metadata request stores it for the others.
VERSION_VARIABLE = "modelVersion"
STORE_VERSION = f'if (pm.response.code === 200) {{ pm.collectionVariables.set("{VERSION_VARIABLE}", pm.response.json().versions[0]); }}'


def with_examples(spec: dict) -> dict:
    """Return the description with each body's and path parameter's first schema example as its `example`."""
    spec = copy.deepcopy(spec)
    components = spec.get("components", {})

    def resolve(node: dict) -> dict:
        ref = node.get("$ref", "")
        return components[ref.split("/")[2]][ref.split("/")[3]] if ref.startswith("#/components/") else node

    for item in spec["paths"].values():
        for operation in item.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                examples = resolve(media.get("schema", {})).get("examples")
                if examples:
                    media["example"] = examples[0]
            operation["parameters"] = [copy.deepcopy(resolve(parameter)) for parameter in operation.get("parameters", [])]
            for parameter in operation["parameters"]:
                if parameter["name"] == "version":
                    # The described version is a placeholder; the run uses the one the server answers.
                    parameter["schema"].pop("enum", None)
                    parameter["example"] = "{{" + VERSION_VARIABLE + "}}"
                elif parameter.get("schema", {}).get("enum"):
                    parameter["example"] = parameter["schema"]["enum"][0]
    return spec


def convert(spec: dict) -> dict:
    """Return the collection openapi-to-postmanv2 converts from `spec` (installed by npm on first use)."""
    converter = npmtools.ensure_package(*CONVERTER)
    with tempfile.TemporaryDirectory(prefix="prediris-postman-") as folder:
        source, output = Path(folder) / "openapi.json", Path(folder) / "collection.json"
        source.write_text(json.dumps(spec))
        argv = [npmtools.node(), str(converter), "--spec", str(source), "--output", str(output), "--options", CONVERTER_OPTIONS]
        result = run(argv, capture=True, check=False)
        if result.returncode != 0 or not output.is_file():
            raise OpsError(f"openapi-to-postmanv2 could not convert the description: {(result.stderr or result.stdout).strip()[-300:]}")
        return json.loads(output.read_text())


def _without_ids(node):
    """Return `node` without the converter's random `id`s (optional in a collection), so the file is stable."""
    if isinstance(node, dict):
        return {key: _without_ids(value) for key, value in node.items() if key != "id"}
    if isinstance(node, list):
        return [_without_ids(value) for value in node]
    return node


def requests(items: list[dict]) -> Iterator[dict]:
    """Yield the requests of a collection's (nested) folders, in order."""
    for item in items:
        if "item" in item:
            yield from requests(item["item"])
        else:
            yield item


def _test(item: dict) -> dict:
    documented = sorted({response["code"] for response in item.get("response", [])})
    lines = [
        f'pm.test("status is documented ({", ".join(map(str, documented))})", function () {{',
        f"    pm.expect({json.dumps(documented)}).to.include(pm.response.code);",
        "    pm.expect(pm.response.code).to.be.below(300);",
        "});",
    ]
    if item["request"]["url"].get("path") == ["v2", "models", ":name"]:
        lines.append(STORE_VERSION)
    return {"listen": "test", "script": {"type": "text/javascript", "exec": lines}}


def build_collection() -> dict:
    """Return the committed collection: the converted description, with variables, key and tests."""
    collection = _without_ids(convert(with_examples(describe(api_keys=True, metrics_route=True))))
    collection["info"].pop("_postman_id", None)
    collection["variable"] = [{"key": "baseUrl", "value": "http://127.0.0.1:5000"}, {"key": "apiKey", "value": ""}]
    collection["variable"].append({"key": VERSION_VARIABLE, "value": ""})
    collection["auth"] = {
        "type": "apikey",
        "apikey": [{"key": "key", "value": "X-API-Key"}, {"key": "value", "value": "{{apiKey}}"}, {"key": "in", "value": "header"}],
    }
    for item in requests(collection["item"]):
        item["request"].pop("auth", None)  # the collection's key, as `X-API-Key`
        item["event"] = [_test(item)]
        for response in item.get("response", []):
            response["originalRequest"].pop("auth", None)
            # The converter fakes reply bodies from the schemas with random enum values (a 405 shown with
            # another problem's type): the status and headers stay, the schemas are in the description.
            response["body"] = ""
    return collection


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
