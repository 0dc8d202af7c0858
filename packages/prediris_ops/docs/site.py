"""The MkDocs commands for the manual: a strict build (what CI runs) and a local preview server."""

import importlib.util
import sys
from pathlib import Path

from prediris_ops.core.errors import OptionError
from prediris_ops.core.paths import ROOT

CONFIG = ROOT / "mkdocs.yml"


class DocsToolMissing(OptionError):
    """MkDocs or its theme is not installed."""


def require_mkdocs() -> None:
    """Refuse early, with the fix, when MkDocs or the Material theme is missing."""
    absent = [name for name, module in (("mkdocs", "mkdocs"), ("mkdocs-material", "material")) if importlib.util.find_spec(module) is None]
    if absent:
        raise DocsToolMissing(f"docs: {' and '.join(absent)} not installed: pip install -e '.[docs]' (also in '.[dev]')")


# Material for MkDocs prints a banner about MkDocs 2.0 on every build unless this is set: it says nothing
# about this site, and every docs build and lint would show it.
QUIET_ENV = {"NO_MKDOCS_2_WARNING": "1"}


def build_argv(site_dir: Path, config: Path = CONFIG) -> list[str]:
    """`mkdocs build --strict`: a warning (a broken link, a page missing from the nav) fails it."""
    return [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site_dir)]


def serve_argv(address: str, config: Path = CONFIG) -> list[str]:
    """`mkdocs serve`: the site at http://ADDRESS, rebuilt on every change."""
    return [sys.executable, "-m", "mkdocs", "serve", "--config-file", str(config), "--dev-addr", address]
