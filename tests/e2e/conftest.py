"""Session fixtures for tests that need Docker: `docker_engine` and `built_image` (stable names, shared).

Other test modules (image, push, reliability) use these two; build once, share everywhere.
"""

import os

import pytest

from prediris_ops.container.provenance import TESTED_IMAGE_ENV
from tests.support import docker as support


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory):
    """A Docker engine that answers, with the Dockerfile's base image (debian:bookworm-slim) present.

    Returns a tests.support.docker.DockerEngine: `.docker` is the client executable to run every docker
    command with (BuildKit-capable), `.base_image` the base image, `.config` the project configuration.
    On a laptop without an engine: skip with the reason. In CI (CI=true): start dockerd when none
    answers (stopped at the end of the session), build the base image with debootstrap when it is
    missing, or fail.
    """
    with support.docker_engine(tmp_path_factory.mktemp("docker")) as engine:
        yield engine


@pytest.fixture(scope="session")
def built_image(docker_engine, model_dir, tmp_path_factory):
    """The project's real Dockerfile built once per session, as `invoke build` builds it; its reference.

    Returns a string such as "efreiprediris:e2e" (run it with `docker_engine.docker`). The session's
    model (`model_dir`) is pinned in the image when trained with the lock's versions, as `invoke build`
    pins the local one. The build log is kept in the session's temporary folder and named on failure.
    With PREDIRIS_TEST_IMAGE set (`invoke test --image`), nothing is built: the tests run on that image,
    the one `invoke build` built and CI pushes.
    """
    prebuilt = os.environ.get(TESTED_IMAGE_ENV)
    if prebuilt:
        return support.existing_image(docker_engine, prebuilt)
    return support.build_test_image(docker_engine, model_dir, tmp_path_factory.mktemp("build") / "build.log")
