"""Fixtures for the load-test tests: Taurus output captured from real runs, and JMeter homes."""

import re
import shutil
import urllib.request
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SERVED = re.compile(r'^prediris_http_requests_total\{method="POST",route="/predict",status="200"\} (\S+)$', re.MULTILINE)


def served_predictions(base_url: str) -> int:
    """Return how many predictions the API says it served (its own /metrics counter)."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as response:
        return int(float(SERVED.search(response.read().decode()).group(1)))


@pytest.fixture
def captured(tmp_path):
    """Return a factory: captured("jmeter-pass") copies that real Taurus output into a report folder's taurus/."""

    def copy(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(DATA / name, folder / "taurus")
        return folder

    return copy


@pytest.fixture
def jmeter_home(tmp_path):
    """A folder shaped like a JMeter home (an executable bin/jmeter), as a user may configure one."""
    home = tmp_path / "my-jmeter"
    (home / "bin").mkdir(parents=True)
    launcher = home / "bin" / "jmeter"
    launcher.write_text("#!/bin/sh\n")
    launcher.chmod(0o755)
    return home
