"""prediris_ops.container.lock and the committed requirements/runtime.lock: the image's pinned runtime set."""

from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from prediris_ops.container import lock
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT

COMMITTED = ROOT / "requirements" / "runtime.lock"


def test_the_lock_pins_the_runtime_set_and_its_dependencies_at_the_installed_versions():
    pins = lock.read_lock_text(lock.lock_text())
    for requirement in lock.runtime_requirements():
        assert pins[canonicalize_name(requirement.name)] == metadata.version(requirement.name)
    assert pins["scipy"] == metadata.version("scipy")  # scikit-learn's dependency, not ours
    assert "invoke" not in pins  # the ops extra never reaches the image
    assert "pytest" not in pins


def test_markers_are_evaluated_for_the_images_linux_python_not_the_host():
    windows_only = Requirement('colorama; platform_system == "Windows"')
    old_python = Requirement('tomli; python_version < "3.11"')
    linux = Requirement('numpy; sys_platform == "linux"')
    assert [lock._applies(r) for r in (windows_only, old_python, linux)] == [False, False, True]


def test_a_missing_dependency_names_the_command_that_fixes_it():
    with pytest.raises(OpsError, match="not installed: pip install -e . then rerun `invoke lock`"):
        lock.resolve_installed([Requirement("surely-not-installed-dist")])


def test_an_installed_version_that_breaks_a_constraint_is_refused():
    with pytest.raises(OpsError, match="does not satisfy"):
        lock.resolve_installed([Requirement("numpy<1")])


def test_each_pin_says_who_needs_it(tmp_path):
    text = lock.render({"flask": lock.Pin("flask", "3.1.3", {"prediris"}), "blinker": lock.Pin("blinker", "1.9.0", {"flask"})})
    assert text.splitlines()[-2:] == ["blinker==1.9.0  # via flask", "flask==3.1.3  # via prediris"]
    path = tmp_path / "runtime.lock"
    path.write_text(text)
    assert lock.read_lock(path) == {"blinker": "1.9.0", "flask": "3.1.3"}


def test_the_committed_lock_covers_every_runtime_requirement_within_its_range():
    pins = lock.read_lock(COMMITTED)
    for requirement in lock.runtime_requirements():
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in {COMMITTED.name}: run `invoke lock`"
        assert requirement.specifier.contains(version), f"{requirement.name}=={version} is outside setup.cfg's {requirement.specifier}"
