"""The API's description as files: the Postman collection is the generated one, and Redocly's
recommended rules pass on the OpenAPI description (and fail on a description that breaks them)."""

import json
import shutil
import subprocess

import pytest

from prediris_api.protocol.problems import PROBLEM_TYPES
from prediris_ops.apidocs import postman
from prediris_ops.apidocs.document import VARIANTS, describe
from prediris_ops.checks import openapilint
from prediris_ops.core import npmtools
from tests.support.tools import missing


def test_the_committed_collection_is_the_generated_one():
    assert postman.COLLECTION_PATH.read_text() == postman.render(), "run `invoke postman` and commit docs/postman/"


def test_the_collection_has_a_request_per_operation_and_examples_for_each_error():
    collection = postman.build_collection()
    folders = {folder["name"]: folder["item"] for folder in collection["item"]}
    spec = describe(api_keys=True, metrics_route=True)
    summaries = [operation["summary"] for item in spec["paths"].values() for operation in item.values()]
    assert [item["name"] for item in folders["Operations"]] == summaries
    assert {"One flower", "A batch of flowers", "Named features"} <= {item["name"] for item in folders["Examples"]}
    tested = {example.problem for example in postman.EXAMPLES if example.problem}
    # A client cannot cause these on purpose: load shedding, draining, a server bug, an undecodable request line.
    assert set(PROBLEM_TYPES) - tested == {"overloaded", "shutting-down", "internal-error", "bad-request"}


def test_an_example_with_an_undocumented_status_is_refused(monkeypatch):
    monkeypatch.setattr(postman, "EXAMPLES", (postman.Example("predict", "teapot", 418, {"X": []}),))
    with pytest.raises(ValueError, match="predict does not document status 418"):
        postman.build_collection()


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
