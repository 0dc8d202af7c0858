"""The waitress internals prediris_api.serving relies on are still there, with the same signatures.

An upgrade of waitress that renames or reshapes one of them fails here, with one line naming it,
instead of in production under load.
"""

import re
from configparser import ConfigParser

import pytest

from prediris_api import serving
from prediris_api.serving import contract
from prediris_ops.core.paths import ROOT


def test_every_private_name_the_server_relies_on_is_still_there_with_the_same_signature():
    problems = contract.broken()
    assert not problems, f"waitress {contract.installed_version()} broke prediris_api.serving's contract: " + "; ".join(problems)


@pytest.mark.parametrize("target", sorted(contract.SIGNATURES))
def test_a_changed_signature_is_reported_in_one_line_naming_it(monkeypatch, target):
    monkeypatch.setitem(contract.SIGNATURES, target, "(self, something_else)")
    problems = contract.broken()
    assert len(problems) == 1
    assert problems[0].startswith(f"{target} signature changed: (self, something_else) -> ")


def test_a_missing_instance_attribute_is_reported_in_one_line_naming_it(monkeypatch):
    monkeypatch.setitem(contract.INSTANCE_ATTRIBUTES, "waitress.channel:HTTPChannel", ("requests", "renamed_in_a_future_waitress"))
    assert contract.broken() == ["waitress.channel:HTTPChannel instances have no attribute 'renamed_in_a_future_waitress'"]


def test_the_package_docstring_lists_every_private_name_under_its_owner():
    bullets = serving.__doc__.split("\n- ")[1:]
    for owner, names in contract.names_by_class().items():
        described = " ".join(bullet for bullet in bullets if re.search(rf"(^|[ /]){re.escape(owner)}\b", bullet))
        assert described, f"prediris_api.serving's docstring has no entry for {owner}"
        missing = sorted(name for name in names if not re.search(rf"(?<![\w.]){re.escape(name)}\b", described))
        assert not missing, f"prediris_api.serving's docstring does not name {owner}'s {', '.join(missing)}"


def test_setup_cfg_pins_waitress_to_the_tested_minor_version():
    config = ConfigParser()
    config.read(ROOT / "setup.cfg")
    requirement = next(line.strip() for line in config["options"]["install_requires"].splitlines() if line.strip().startswith("waitress"))
    assert requirement == f"waitress~={contract.TESTED_VERSION}"
    assert contract.installed_version().startswith(contract.TESTED_VERSION.rsplit(".", 1)[0] + ".")
