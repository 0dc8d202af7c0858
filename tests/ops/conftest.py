"""A MockContext carrying the project's real configuration (invoke.yaml)."""

from pathlib import Path

import pytest
from invoke import Config, MockContext

ROOT = Path(__file__).resolve().parents[2]


def project_config(**overrides) -> Config:
    config = Config(project_location=str(ROOT))
    config.load_project()
    config.merge()
    for section, values in overrides.items():
        config[section].update(values)
    return config


@pytest.fixture
def make_context():
    """Return a factory: make_context(run={command: Result}, **config sections to override)."""

    def factory(run=None, **overrides):
        return MockContext(config=project_config(**overrides), run=run or {}, repeat=True)

    return factory
