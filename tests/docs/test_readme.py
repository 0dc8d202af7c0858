"""The README is a landing page: at most 200 lines, the two commands first, every task, links that resolve."""

import re
import shlex
from configparser import ConfigParser

from prediris_ops.core.paths import ROOT
from prediris_ops.docs import tables

README = (ROOT / "README.md").read_text()


def first_commands() -> list[str]:
    """Return the commands of the README's first block (comments sit on their own lines)."""
    block = re.search(r"```sh\n(.*?)```", README, re.DOTALL).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_has_at_most_200_lines():
    assert len(README.splitlines()) <= 200


def test_the_first_command_makes_a_venv_with_the_light_install_and_serves_the_second_adds_dev_and_tests():
    # The system Python of Debian 12 and Ubuntu 24.04 refuses `pip install` (PEP 668): the first line makes a venv.
    # tests/e2e/test_first_command.py runs the first line as written.
    assert first_commands() == [
        'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[ops]" && invoke up',
        'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]" && invoke test',
    ]


def test_the_readme_test_command_is_the_one_ci_runs():
    ci_run = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert shlex.split(first_commands()[1].split("&& ")[-1]) == shlex.split(ci_run[-1])


def test_the_readme_shows_the_seed_curl_and_its_answer():
    assert """curl -X POST -H "Content-Type: application/json" -d '{"X": [5.1,3.5,1.4,0.2]}' http://localhost:5000/predict""" in README
    assert '\n{"prediction":"setosa","class_id":0,' in README


def test_the_readme_task_table_lists_exactly_the_tasks():
    listed = set(re.findall(r"^\| `invoke ([a-z-]+)` \|", README, re.MULTILINE))
    assert listed == set(tables.load_collection().task_names)


def test_every_relative_link_and_picture_of_the_readme_exists():
    targets = re.findall(r"\]\((?!https?://)([^)#]+)", README)
    assert any(target.startswith("docs/") for target in targets)
    for target in targets:
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def test_the_package_long_description_is_the_readme():
    config = ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["metadata"]["long_description"] == "file: README.md"
    assert config["metadata"]["long_description_content_type"] == "text/markdown"


def test_the_manual_home_page_shows_the_same_two_commands():
    home = (ROOT / "docs" / "index.md").read_text()
    for command in first_commands():
        assert command in home
