"""Lint the API's OpenAPI description with Redocly CLI's `recommended-strict` rules (the recommended
set, warnings as errors): servers present, security stated on every operation, no unused component...

Both ends of what a deployment describes are linted (apidocs/document.py). Redocly comes from npm
(`@redocly/cli`), installed on first use into the project's cache folder, never globally.
Run: python -m prediris_ops.checks.openapilint
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from prediris_ops.apidocs.document import VARIANTS, describe
from prediris_ops.core import npmtools

REDOCLY_VERSION = "2.77.0"
RULESET = "recommended-strict"


def redocly_lint(files: list[Path]) -> int:
    """Run `redocly lint` on OpenAPI files; return its exit status (1 when a rule fails)."""
    cli = npmtools.ensure_package("@redocly/cli", REDOCLY_VERSION, "bin/cli.js")
    argv = [npmtools.node(), str(cli), "lint", "--extends", RULESET, *map(str, files)]
    # Redocly would otherwise ask its telemetry endpoint, unreachable offline.
    return subprocess.run(argv, check=False, env={**os.environ, "REDOCLY_TELEMETRY": "off"}).returncode


def lint_description() -> int:
    """Write each variant of the description to a temporary folder and lint them together."""
    with tempfile.TemporaryDirectory(prefix="prediris-openapi-") as folder:
        files = []
        for name, options in VARIANTS.items():
            path = Path(folder) / f"openapi-{name}.json"
            path.write_text(json.dumps(describe(**options), indent=2) + "\n")
            files.append(path)
        return redocly_lint(files)


if __name__ == "__main__":
    try:
        sys.exit(lint_description())
    except npmtools.NpmToolError as error:
        sys.exit(f"openapi lint: {error}")
