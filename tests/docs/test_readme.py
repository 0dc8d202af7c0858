"""The README is a landing page: at most 200 lines, the two commands first, every task, links that resolve."""

import re
import shlex
from configparser import ConfigParser

from prediris_ops.core.paths import ROOT
from prediris_ops.docs import tables

README = (ROOT / "README.md").read_text()
VENV = 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]" && '


def first_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.DOTALL).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_has_at_most_200_lines():
    assert len(README.splitlines()) <= 200


def test_the_first_commands_run_the_main_job_then_the_tests_in_a_virtual_environment():
    # The system Python of Debian 12 and Ubuntu 24.04 refuses `pip install` (PEP 668): each line makes its venv.
    assert first_commands() == [VENV + "invoke up", VENV + "invoke test"]


def test_the_readme_test_command_is_the_one_ci_runs():
    ci_run = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert shlex.split(first_commands()[1].split("&& ")[-1]) == shlex.split(ci_run[-1])


def test_the_readme_says_debian_needs_python3_venv():
    assert "python3-venv" in README.split("## ")[0]


def test_the_readme_shows_the_seed_curl_and_its_answer():
    assert """curl -X POST -H "Content-Type: application/json" -d '{"X": [5.1,3.5,1.4,0.2]}' http://localhost:5000/predict""" in README
    assert '# {"prediction":"setosa","class_id":0,' in README


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
