"""The type checker as `invoke lint` runs it: mypy passes on packages/, catches a type error, and every
package ships the `py.typed` marker that tells its users so (PEP 561)."""

import importlib.util
import shutil
import subprocess
import sys
import zipfile

import pytest

from prediris_ops.checks.lint import LINTERS
from prediris_ops.core.paths import ROOT
from tests.support.tools import missing

MYPY = next(linter for linter in LINTERS if linter.name == "mypy")
PACKAGES = sorted(path.parent.name for path in (ROOT / "packages").glob("*/__init__.py"))


@pytest.fixture
def mypy():
    if importlib.util.find_spec("mypy") is None:
        missing("mypy is not installed (pip install -e '.[dev]')")


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)


def test_mypy_passes_on_every_package(mypy):
    result = run(MYPY.argv(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")


def test_every_package_ships_its_py_typed_marker(tmp_path):
    assert PACKAGES == ["prediris_api", "prediris_metrics", "prediris_model", "prediris_ops"]
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "packages", source / "packages", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    result = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(source)]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("prediris-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert {f"{name}/py.typed" for name in PACKAGES} <= shipped
