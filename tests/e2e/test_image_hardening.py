"""The image under stop, tampering and secret scanning, with the real Docker engine.

Non-root, read-only and the pinned model are tested in tests/e2e/test_image.py; here: `docker stop`
under steady load loses no accepted request, a tampered model file fails closed at start, and no
secret (the CI's secret variables, their values, credential shapes) is in the image or the logs.
"""

import os
import subprocess
import time

import pytest

from prediris_ops.checks.smoke import run_checks
from prediris_ops.container import docker
from prediris_ops.container.secretscan import ci_secret_names, needles, scan_bytes, scan_image_archive
from prediris_ops.core.paths import ROOT
from prediris_ops.load.loadgen import generate_load
from tests.support.docker import container_name, running_container

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.image]
CANARY = "prediris-canary-{name}-0f3c9a71b2"


def docker_run(docker_engine, *args, timeout=120):
    return subprocess.run([docker_engine.docker, *args], capture_output=True, text=True, check=False, timeout=timeout)


@pytest.mark.alone
def test_docker_stop_under_load_answers_every_request_sent_before_it_and_exits_0(docker_engine, built_image):
    with running_container(docker_engine, built_image, "drain") as (name, base):
        stopped = []

        def stop():
            stopped.append(time.monotonic())
            stopped.append(docker_run(docker_engine, *docker.stop_argv(docker_engine.docker, name, 30)[1:], timeout=60))

        result = generate_load(base, connections=20, duration=8, record=True, during=stop, at=3)
        state = docker.container_state(docker_engine.docker, name)
        logs = docker.logs(docker_engine.docker, name, tail=50)
    before = [outcome for sent, outcome in result.records if sent < stopped[0]]
    after = [outcome for sent, outcome in result.records if sent >= stopped[0]]
    print(f"\ndocker stop under load: {result.summary()}; {len(before)} sent before the stop")

    assert stopped[1].returncode == 0
    assert before and set(before) == {200}
    assert "timeout" not in after
    assert state["ExitCode"] == 0
    assert "Granian shutdown completed" in logs and "SIGTERM: draining" in logs


def test_a_tampered_model_in_the_image_fails_closed_at_start(docker_engine, built_image, tmp_path):
    name = container_name("tampered")
    tampered = tmp_path / "iris-knn.joblib"
    created = docker_run(docker_engine, "create", "--name", name, "--network", "none", built_image)
    assert created.returncode == 0, created.stderr
    try:
        copied = docker_run(docker_engine, "cp", f"{name}:/opt/prediris/models/iris-knn.joblib", str(tampered))
        assert copied.returncode == 0, copied.stderr
        tampered.write_bytes(tampered.read_bytes() + b"\0")  # one byte appended: still a loadable pickle
        assert docker_run(docker_engine, "cp", str(tampered), f"{name}:/opt/prediris/models/iris-knn.joblib").returncode == 0
        started = docker_run(docker_engine, "start", "--attach", name)
        state = docker.container_state(docker_engine.docker, name)
    finally:
        docker.remove_container(docker_engine.docker, name)
    assert state["ExitCode"] == 1
    assert "does not match" in started.stderr
    assert "refusing to unpickle" in started.stderr
    assert "Traceback" not in started.stderr


def test_no_ci_secret_name_value_or_credential_shape_is_in_the_image_layers_config_or_history(docker_engine, built_image, tmp_path):
    names = ci_secret_names(ROOT)
    assert {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"} <= names
    wanted = needles(names, dict(os.environ))
    archive = tmp_path / "image.tar"
    saved = docker_run(docker_engine, "save", "--output", str(archive), built_image, timeout=600)
    assert saved.returncode == 0, saved.stderr
    history = "\n".join(line for _, line in docker.history(docker_engine.docker, built_image))

    findings = scan_image_archive(archive, wanted) + scan_bytes(history.encode(), "history", wanted)

    assert findings == []


def test_secrets_in_the_container_environment_never_reach_its_logs(docker_engine, built_image):
    names = sorted(ci_secret_names(ROOT))
    secrets = {name: CANARY.format(name=name.lower()) for name in names}
    with running_container(docker_engine, built_image, "secrets", env={**secrets, "PREDIRIS_ACCESS_LOG": "true"}) as (name, base):
        assert [check for check in run_checks(base) if not check.ok] == []
        stopped = docker_run(docker_engine, *docker.stop_argv(docker_engine.docker, name, 30)[1:], timeout=60)
        logs = docker.logs(docker_engine.docker, name, tail=10000)
    assert stopped.returncode == 0
    assert "Granian shutdown completed" in logs, "the logs were read in full"
    assert scan_bytes(logs.encode(), "docker logs", needles(names, secrets)) == []
