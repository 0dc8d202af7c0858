"""The container image, built from the real Dockerfile and run by the real Docker engine."""

import json
import subprocess
import sys
import tarfile
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest

from prediris_model import load
from prediris_ops.checks.smoke import run_checks
from prediris_ops.container import docker
from prediris_ops.container.image import git
from prediris_ops.container.lock import read_lock
from prediris_ops.core.paths import ROOT
from tests.support.docker import running_container

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.image]

# The service as the image ships it: three packages, the model, nothing else.
SERVICE_CONTENT = {"models", "prediris_api", "prediris_metrics", "prediris_model"}


@pytest.fixture(scope="module")
def container(docker_engine, built_image):
    """The image running read-only (tmpfs /tmp) with port 5000 published; (name, base URL)."""
    with running_container(docker_engine, built_image, "image") as running:
        yield running


def docker_out(docker_engine, *args: str) -> str:
    result = subprocess.run([docker_engine.docker, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr.strip()}"
    return result.stdout.strip()


def run_in_image(docker_engine, image: str, code: str) -> str:
    """Run Python code in a throw-away container of `image` and return what it prints."""
    return docker_out(docker_engine, "run", "--rm", "--network", "none", image, "python", "-c", code)


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_the_container_becomes_healthy_read_only_with_a_tmpfs(docker_engine, container):
    name, _ = container
    state = docker.container_state(docker_engine.docker, name)
    read_only = docker_out(docker_engine, "container", "inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name)
    assert state["Health"]["Status"] == "healthy"
    assert read_only == "true"


def test_invoke_smoke_passes_against_the_container(container):
    _, base = container
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "smoke", "--url", base], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"smoke test of {base}: all" in result.stdout
    assert [check for check in run_checks(base) if not check.ok] == []


def test_the_server_reports_the_version_of_the_distribution_it_was_built_from(container):
    _, base = container
    with urllib.request.urlopen(base + "/v2", timeout=10) as response:
        assert json.load(response)["version"] == metadata.version("prediris")


def test_metrics_count_the_predictions_served(container):
    _, base = container
    request = urllib.request.Request(base + "/predict", data=b'{"X": [5.1, 3.5, 1.4, 0.2]}', headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    status, content_type, body = get(base + "/metrics")
    text = body.decode()
    assert status == 200
    assert content_type.startswith("text/plain")
    assert 'route="/predict"' in text
    assert "prediris_" in text


def test_the_server_is_pid_1_and_runs_as_the_fixed_non_root_uid(docker_engine, container):
    name, _ = container
    uid = docker_out(docker_engine, "exec", name, "python", "-c", "import os; print(os.getuid(), os.getgid())")
    pid1 = docker_out(docker_engine, "exec", name, "cat", "/proc/1/cmdline").replace("\0", " ").strip()
    assert uid == "10001 10001"
    assert pid1 == "python -m prediris_api"


def test_the_root_filesystem_is_read_only_but_tmp_is_writable(docker_engine, container):
    name, _ = container
    probe = (
        "import pathlib\n"
        "pathlib.Path('/tmp/probe').write_text('ok')\n"
        "try:\n"
        "    pathlib.Path('/opt/prediris/models/iris-knn.joblib').write_bytes(b'evil')\n"
        "except OSError as error:\n"
        "    print(error.strerror)\n"
    )
    assert docker_out(docker_engine, "exec", name, "python", "-c", probe) == "Read-only file system"


def test_the_model_served_is_verified_and_trained_with_the_serving_libraries(docker_engine, built_image, container, model_dir):
    _, base = container
    served = json.loads(get(base + "/model")[2])
    # The image does not expose library versions (PREDIRIS_EXPOSE_RUNTIME=false): read them from the card it holds.
    assert "versions" not in served and "runtime_warnings" not in served
    card = json.loads(run_in_image(docker_engine, built_image, "print(open('/opt/prediris/models/iris-knn.json').read())"))
    assert card["sha256"] == served["sha256"]
    info = docker.inspect_image(docker_engine.docker, built_image)
    locked = read_lock(ROOT / docker_engine.config.docker.lock_file)
    assert card["versions"]["scikit-learn"] == locked["scikit-learn"]
    assert card["versions"]["numpy"] == locked["numpy"]
    assert card["quality_gate"]["passed"] is True
    pinned = info.env["PREDIRIS_MODEL_SHA256"]
    if pinned:
        # Pinned when the session's model was trained with the lock's versions: then it is the same file.
        assert card["sha256"] == pinned == load(model_dir).sha256


def test_the_container_refuses_a_model_other_than_the_pinned_one(docker_engine, built_image):
    result = subprocess.run(
        [docker_engine.docker, "run", "--rm", "--network", "none", "--env", "PREDIRIS_MODEL_SHA256=" + "0" * 64, built_image],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "PREDIRIS_MODEL_SHA256 pins 000000000000" in result.stderr
    assert "Traceback" not in result.stderr


def test_docker_stop_ends_the_server_with_status_0_within_the_grace_period(docker_engine, built_image):
    with running_container(docker_engine, built_image, "stop") as (name, base):
        assert [check for check in run_checks(base) if not check.ok] == []
        stopped = subprocess.run(docker.stop_argv(docker_engine.docker, name, 30), capture_output=True, text=True, check=False, timeout=60)
        state = docker.container_state(docker_engine.docker, name)
    assert stopped.returncode == 0
    # 137 would mean SIGKILL after the grace period; 0 means the server handled SIGTERM itself.
    assert state["ExitCode"] == 0
    assert state["OOMKilled"] is False


def test_the_image_holds_only_the_service_and_its_locked_dependencies(docker_engine, built_image):
    content = run_in_image(docker_engine, built_image, "import os; print(' '.join(sorted(os.listdir('/opt/prediris'))))")
    installed = json.loads(
        run_in_image(
            docker_engine,
            built_image,
            "import json, importlib.metadata as m; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        )
    )
    importable = run_in_image(
        docker_engine,
        built_image,
        "import importlib.util as u; print([n for n in ('prediris_ops', 'tests', 'invoke', 'pip') if u.find_spec(n)])",
    )
    locked = read_lock(ROOT / docker_engine.config.docker.lock_file)
    # Beside the three packages, the metadata of the `prediris` distribution (its version, for /v2).
    assert set(content.split()) == SERVICE_CONTENT | {f"prediris-{metadata.version('prediris')}.dist-info"}
    assert installed.pop("prediris") == metadata.version("prediris")
    assert {name.lower().replace("_", "-"): version for name, version in installed.items()} == locked
    assert importable == "[]"


def test_the_image_is_described_by_oci_labels_and_a_healthcheck(docker_engine, built_image):
    info = docker.inspect_image(docker_engine.docker, built_image)
    labels = info.labels
    assert info.config["User"] == "10001:10001"
    assert "5000/tcp" in info.config["ExposedPorts"]
    assert info.config["Cmd"] == ["python", "-m", "prediris_api"]
    assert info.config["Healthcheck"]["Test"][0] == "CMD"
    assert info.env["PREDIRIS_HOST"] == "0.0.0.0"
    for key in ("revision", "version", "created"):
        assert labels[f"org.opencontainers.image.{key}"] not in ("", "unknown"), key
    # The source is docker.source, else the git remote `origin` (unknown in a clone without one).
    assert labels["org.opencontainers.image.source"] == (
        docker_engine.config.docker.source or git(ROOT, "remote", "get-url", "origin") or "unknown"
    )
    assert labels["org.opencontainers.image.revision"].removesuffix("-dirty") == git(ROOT, "rev-parse", "HEAD")


def test_the_layers_add_up_to_the_image_size_and_the_venv_weighs_most(docker_engine, built_image):
    layers = docker.history(docker_engine.docker, built_image)
    info = docker.inspect_image(docker_engine.docker, built_image)
    assert sum(size for size, _ in layers) == info.size_bytes
    assert "/opt/venv" in max(layers)[1]


def test_the_ca_bundle_given_to_pip_is_in_no_layer(docker_engine, built_image, tmp_path):
    bundle = docker.find_ca_bundle(docker_engine.config.docker.ca_bundle)
    if bundle is None:
        pytest.skip("this build was given no CA bundle")
    # The last certificate of the bundle: a proxy's CA is appended to the system store.
    marker = bundle.read_bytes().strip().split(b"-----BEGIN CERTIFICATE-----")[-1][:300]
    archive = tmp_path / "image.tar"
    docker_out(docker_engine, "save", "--output", str(archive), built_image)
    leaks = []
    with tarfile.open(archive) as image:
        for member in image:
            if member.name.endswith("layer.tar"):
                with tarfile.open(fileobj=image.extractfile(member)) as layer:
                    leaks += [
                        f.name for f in layer if f.isfile() and ("secrets" in Path(f.name).parts or marker in layer.extractfile(f).read())
                    ]
    assert leaks == []
