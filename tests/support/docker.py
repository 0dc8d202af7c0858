"""Docker for the end-to-end tests: an engine with the base image, and the project's image built once.

On a laptop without an engine the tests skip with the reason; in CI (CI=true) a missing engine is
started here (through prediris_ops.container.engine) and anything that cannot be provided fails the test.
"""

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from invoke import Config

from prediris_ops.container import docker, engine
from prediris_ops.container.build import plan_build
from prediris_ops.core.errors import OpsError
from tests.support.config import project_config
from tests.support.tools import IN_CI, free_port, missing

# The tag the tests build: never the user's `latest`, so a test run leaves their image alone.
TEST_TAG = "e2e"
_SERIAL = itertools.count()


@dataclass
class DockerEngine:
    """A Docker engine that answers, with the Dockerfile's base image loaded.

    `docker` is the path of a BuildKit-capable client to run every command with;
    `base_image` the base image reference; `engine` the prediris_ops.container.engine.Engine behind it.
    """

    docker: str
    base_image: str
    engine: engine.Engine
    config: Config


@contextmanager
def docker_engine(log_dir: Path) -> Iterator[DockerEngine]:
    """Yield a DockerEngine; skip (laptop) or fail (CI) naming what is missing."""
    config = project_config()
    # Only CI starts an engine: on a developer's machine we never start daemons behind their back.
    start = IN_CI and engine.can_start_engine() is None
    cache_dir = Path(config.docker.cache_dir or engine.DEFAULT_CACHE).expanduser()
    try:
        client = docker.resolve_client(config.docker.executable)
        with engine.engine(client, log_dir / "dockerd.log", start=start) as running:
            engine.ensure_base_image(client, config.docker.base_image, cache_dir=cache_dir)
            yield DockerEngine(client, config.docker.base_image, running, config)
    except OpsError as error:
        missing(f"{error} (with CI=true, dockerd is started when it is on PATH and we are root)")


def build_test_image(engine_: DockerEngine, model_dir: Path, log_path: Path) -> str:
    """Build the real Dockerfile as `invoke build` does (tag `<image>:e2e`); return the image reference.

    `model_dir` holds the model the session trained: its digest is pinned in the image when it was
    trained with the lock's versions, exactly as `invoke build` pins the local model's.
    """
    config = engine_.config
    reference = f"{config.docker.image}:{TEST_TAG}"
    spec, _notes = plan_build(config, docker=engine_.docker, tags=[reference], model_dir=model_dir, progress="plain")
    try:
        docker.build(spec, log_path)
    except OpsError as error:
        raise AssertionError(f"{error} (full log: {log_path})") from None
    return reference


def existing_image(engine_: DockerEngine, reference: str) -> str:
    """Return `reference` when the engine holds that image (one built before the session), or fail naming it."""
    try:
        docker.inspect_image(engine_.docker, reference)
    except OpsError as error:
        raise AssertionError(f"{error} (the image to test comes from PREDIRIS_TEST_IMAGE)") from None
    return reference


def container_name(prefix: str) -> str:
    """Return a container name no other container of this or another test session uses."""
    return f"prediris-{prefix}-{os.getpid()}-{next(_SERIAL)}"


@contextmanager
def running_container(engine_: DockerEngine, image_ref: str, prefix: str, *, read_only: bool = True, env=None, options=()):
    """Run the image detached with port 5000 published on a free port of the engine's address (127.0.0.1
    for a local engine; the engine's host under docker-in-docker), wait for `healthy`, yield
    (container name, base URL), then remove the container whatever happened.

    By default the root filesystem is read-only with a tmpfs on /tmp, as production should run it.
    """
    name = container_name(prefix)
    port = free_port()
    address = engine.engine_address()
    argv = docker.run_argv(
        engine_.docker,
        image_ref,
        name=name,
        publish={port: 5000},
        env=env,
        read_only=read_only,
        tmpfs=["/tmp"] if read_only else [],
        options=options,
        address=address,
    )
    docker.remove_container(engine_.docker, name)
    try:
        started = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert started.returncode == 0, f"docker run failed: {started.stderr.strip()}"
        try:
            docker.wait_healthy(engine_.docker, name)
        except OpsError as error:
            raise AssertionError(str(error)) from None
        yield name, f"http://{address}:{port}"
    finally:
        docker.remove_container(engine_.docker, name)
