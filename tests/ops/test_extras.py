"""Every install lists every task quickly; a task whose extra is missing says which one to install."""

import subprocess
import sys

import pytest
from invoke.exceptions import Exit

from prediris_ops.core.paths import ROOT
from prediris_ops.tasks.extras import extra

# What only a task's body may import: the service's model stack and the extras' libraries.
HEAVY = {"azure", "bzt", "flask", "matplotlib", "mkdocs", "numpy", "prediris_api", "prediris_model", "scipy", "sklearn"}


def test_listing_the_tasks_imports_none_of_the_heavy_libraries():
    probe = "import sys, tasks; print(' '.join(sorted({name.partition('.')[0] for name in sys.modules})))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert HEAVY & set(loaded) == set()


def test_a_missing_library_ends_the_task_in_one_line_naming_the_extra():
    with pytest.raises(Exit) as raised, extra("perf"):
        import surely_not_installed_prediris  # noqa: F401
    assert raised.value.code == 2
    assert raised.value.message == (
        "surely_not_installed_prediris is not installed: this task needs the perf extra (pip install -e '.[perf]')"
    )


def test_a_missing_module_of_the_project_itself_is_a_bug_not_a_missing_extra():
    with pytest.raises(ModuleNotFoundError), extra("perf"):
        import prediris_ops.surely_not_a_module  # noqa: F401
