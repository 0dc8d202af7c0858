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
    pins = lock.read_lock_text(lock.lock_text(hashes=False))
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


def test_each_pin_says_who_needs_it_and_carries_its_hash(tmp_path):
    digest = "sha256:" + "ab" * 32
    text = lock.render({"flask": lock.Pin("flask", "3.1.3", {"prediris"}, [digest]), "blinker": lock.Pin("blinker", "1.9.0", {"flask"})})
    assert text.splitlines()[-2:] == ["blinker==1.9.0  # via flask", f"flask==3.1.3 --hash={digest}  # via prediris"]
    path = tmp_path / "runtime.lock"
    path.write_text(text)
    assert lock.read_lock(path) == {"blinker": "1.9.0", "flask": "3.1.3"}
    assert lock.read_hashes_text(text) == {"blinker": [], "flask": [digest]}


def test_the_committed_lock_pins_one_sha256_per_distribution():
    text = COMMITTED.read_text()
    hashes = lock.read_hashes_text(text)
    assert set(hashes) == set(lock.read_lock_text(text))
    assert {name: len(digests) for name, digests in hashes.items() if len(digests) != 1} == {}


def test_the_wheels_are_fetched_from_pypi_only_for_the_images_python_and_platform(tmp_path):
    argv = lock.download_argv([lock.Pin("numpy", "2.4.6"), lock.Pin("blinker", "1.9.0")], tmp_path, None)
    platforms = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--platform"]
    assert argv[1:5] == ["-m", "pip", "download", "--isolated"]  # no find-links or extra index of this machine
    assert {"--no-deps", "--only-binary=:all:"} <= set(argv)
    assert argv[argv.index("--python-version") + 1] == "3.11" and argv[argv.index("--abi") + 1] == "cp311"
    assert platforms[0] == "manylinux_2_36_x86_64" and "manylinux2014_x86_64" in platforms  # bookworm's glibc, newest first
    assert argv[-2:] == ["blinker==1.9.0", "numpy==2.4.6"]


def test_the_hashes_are_those_of_the_wheels_pip_downloads_for_the_image():
    committed = lock.read_hashes_text(COMMITTED.read_text())
    versions = lock.read_lock(COMMITTED)
    pins = {name: lock.Pin(name, versions[name]) for name in ("blinker", "markupsafe")}  # small: one pure, one cp311 wheel
    lock.add_hashes(pins)
    assert {name: pin.hashes for name, pin in pins.items()} == {name: committed[name] for name in pins}


def test_a_pin_pypi_cannot_serve_stops_with_one_line_naming_the_fix():
    with pytest.raises(OpsError, match="pip could not download the image's wheels from PyPI .*check the network"):
        lock.add_hashes({"surely-not-a-dist-prediris": lock.Pin("surely-not-a-dist-prediris", "0.0.1")})


def test_the_committed_lock_covers_every_runtime_requirement_within_its_range():
    pins = lock.read_lock(COMMITTED)
    for requirement in lock.runtime_requirements():
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in {COMMITTED.name}: run `invoke lock`"
        assert requirement.specifier.contains(version), f"{requirement.name}=={version} is outside setup.cfg's {requirement.specifier}"
