"""Shared fixtures: a model trained once per session into a temporary folder, the app, a client; the
rules of a parallel run (tests/support/parallel.py)."""

import pytest
from invoke import MockContext
from prometheus_client import CollectorRegistry

import prediris_model
from prediris_api import create_app
from prediris_metrics import PredirisMetrics
from tests.support import parallel
from tests.support.config import project_config


def pytest_configure(config):
    parallel.configure(config)


def pytest_unconfigure(config):
    parallel.unconfigure(config)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    parallel.group(config, items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    parallel.enter(item)
    try:
        return (yield)
    finally:
        parallel.leave(item, nextitem)


@pytest.fixture(scope="session")
def trained():
    """The training result (estimator and card), trained once per session."""
    return prediris_model.train()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, trained):
    """A folder holding iris-knn.joblib and its card, as `invoke train` writes them."""
    directory = tmp_path_factory.mktemp("models")
    prediris_model.save(trained, directory)
    return directory


@pytest.fixture
def metrics():
    """Metrics bound to a registry of their own, so tests never share counters."""
    return PredirisMetrics(CollectorRegistry())


@pytest.fixture
def app(model_dir, metrics):
    return create_app({"model_dir": str(model_dir), "metrics": metrics, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def loaded(model_dir):
    """The model as the API loads it (verified)."""
    return prediris_model.load(model_dir)


@pytest.fixture
def make_context():
    """Return a factory: make_context(run={command: Result}, **config sections to override) gives a
    MockContext carrying the project's real configuration."""

    def factory(run=None, **overrides):
        return MockContext(config=project_config(**overrides), run=run or {}, repeat=True)

    return factory
