"""The API's description as files: the Postman collection is the generated one, and Redocly's
recommended rules pass on the OpenAPI description (and fail on a description that breaks them)."""

import json
import shutil
import subprocess

import pytest

from prediris_ops.apidocs import postman
from prediris_ops.apidocs.document import VARIANTS, describe
from prediris_ops.checks import openapilint
from prediris_ops.core import npmtools
from tests.support.tools import missing


def converter_or_skip() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing("node and npm are needed for openapi-to-postmanv2 (apt-get install nodejs npm)")


def test_the_committed_collection_is_what_openapi_to_postmanv2_converts():
    converter_or_skip()
    assert postman.COLLECTION_PATH.read_text() == postman.render(), "run `invoke postman` and commit docs/postman/"


def test_the_collection_has_a_request_per_operation_each_testing_a_documented_success():
    collection = json.loads(postman.COLLECTION_PATH.read_text())
    spec = describe(api_keys=True, metrics_route=True)
    operations = sum(len(item) for item in spec["paths"].values())
    items = list(postman.requests(collection["item"]))
    assert len(items) == operations
    for item in items:
        documented = sorted(response["code"] for response in item["response"])
        assert f"    pm.expect({json.dumps(documented)}).to.include(pm.response.code);" in item["event"][0]["script"]["exec"]
    assert {"key": "value", "value": "{{apiKey}}"} in collection["auth"]["apikey"]


def redocly_or_skip() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing("node and npm are needed for Redocly CLI (apt-get install nodejs npm)")


def test_the_description_passes_redoclys_recommended_rules():
    redocly_or_skip()
    assert openapilint.lint_description() == 0


def test_redocly_fails_an_operation_without_security_or_a_4xx_answer(tmp_path):
    redocly_or_skip()
    spec = describe(**VARIANTS["open-with-metrics"])
    live = spec["paths"]["/health/live"]["get"]
    del live["security"]
    live["responses"] = {"200": live["responses"]["200"]}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(spec))
    assert openapilint.redocly_lint([path]) == 1


def test_a_missing_npm_is_one_line_naming_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(npmtools.shutil, "which", lambda name: None)
    with pytest.raises(npmtools.NpmToolError, match="npm is not on PATH"):
        npmtools.ensure_package("newman", postman.NEWMAN_VERSION, "bin/newman.js")


def test_newman_runs_the_committed_collection_with_the_base_url_and_key_as_variables():
    if shutil.which("node") is None:
        missing("node is needed for newman (apt-get install nodejs npm)")
    argv = postman.newman_argv("http://127.0.0.1:1234", "k")
    assert argv[2:4] == ["run", str(postman.COLLECTION_PATH)]
    assert argv[4:6] == ["--env-var", "baseUrl=http://127.0.0.1:1234"] and argv[-2:] == ["--env-var", "apiKey=k"]
    assert (
        subprocess.run([argv[0], argv[1], "--version"], capture_output=True, text=True, check=True).stdout.strip() == postman.NEWMAN_VERSION
    )
