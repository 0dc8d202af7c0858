"""The linters `invoke lint` runs: each one an argument list, run only when its tool is present
(or always, when it ships with the dev extra). Later modules append their own linters here."""

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


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
]
