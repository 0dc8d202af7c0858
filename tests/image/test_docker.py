"""prediris_ops.container.docker: the client probe, the CA bundle setting and the exact docker commands."""

from pathlib import Path

import pytest

from prediris_ops.container import docker
from prediris_ops.core.errors import OpsError


def test_a_build_passes_tags_args_and_the_ca_bundle_as_a_secret_never_as_a_build_arg(tmp_path):
    spec = docker.BuildSpec(
        docker="/usr/bin/docker",
        context=tmp_path,
        tags=["efreiprediris:abc1234", "efreiprediris:latest"],
        build_args={"MODEL_SEED": "42", "BASE_IMAGE": "debian:bookworm-slim"},
        ca_bundle=Path("/etc/ssl/certs/ca-certificates.crt"),
    )
    assert spec.argv() == [
        "/usr/bin/docker", "build", "--progress", "auto", "--file", str(tmp_path / "Dockerfile"),
        "--tag", "efreiprediris:abc1234", "--tag", "efreiprediris:latest",
        "--build-arg", "BASE_IMAGE=debian:bookworm-slim", "--build-arg", "MODEL_SEED=42",
        "--secret", "id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt",
        str(tmp_path),
    ]  # fmt: skip


def test_a_build_without_a_ca_bundle_has_no_secret(tmp_path):
    argv = docker.BuildSpec(docker="docker", context=tmp_path, tags=["x:latest"]).argv()
    assert "--secret" not in argv
    assert argv[-1] == str(tmp_path)


def test_run_publishes_on_loopback_only_and_can_be_read_only():
    argv = docker.run_argv("docker", "img:e2e", name="c1", publish={8123: 5000}, env={"A": "1"}, read_only=True, tmpfs=["/tmp"])
    assert argv == [
        "docker", "run", "--detach", "--name", "c1", "--publish", "127.0.0.1:8123:5000",
        "--env", "A=1", "--read-only", "--tmpfs", "/tmp", "img:e2e",
    ]  # fmt: skip


def test_run_publishes_on_the_engines_address_when_it_is_another_host():
    # docker-in-docker: the engine's 127.0.0.1 is not ours; its ports are reached at its own address.
    argv = docker.run_argv("docker", "img:e2e", name="c1", publish={8123: 5000}, address="10.213.0.2")
    assert argv[argv.index("--publish") + 1] == "10.213.0.2:8123:5000"


def test_stop_gives_the_grace_period_before_sigkill():
    assert docker.stop_argv("docker", "c1", 30) == ["docker", "stop", "--time", "30", "c1"]


@pytest.mark.parametrize(
    ("version", "buildx", "expected"),
    [("20.10.24+dfsg1", False, True), ("28.2.2", False, False), ("28.2.2", True, True)],
    ids=["debian-20.10-builtin", "cli-28-without-buildx", "cli-28-with-buildx"],
)
def test_a_client_has_buildkit_when_it_predates_23_or_has_buildx(fake_docker, version, buildx, expected):
    assert docker.has_buildkit(str(fake_docker(version, buildx))) is expected


def test_a_client_without_buildkit_falls_back_to_debians(fake_docker, capsys):
    configured = fake_docker("28.2.2", buildx=False, name="docker-new")
    debian = fake_docker("20.10.24+dfsg1", name="docker-debian")
    assert docker.resolve_client(str(configured), fallback=str(debian)) == str(debian)
    assert "cannot run BuildKit builds" in capsys.readouterr().out


def test_no_buildkit_client_at_all_names_the_fix(fake_docker, tmp_path):
    configured = fake_docker("28.2.2", buildx=False)
    with pytest.raises(OpsError, match="install the buildx plugin, or set docker.executable") as raised:
        docker.resolve_client(str(configured), fallback=str(tmp_path / "absent"))
    assert raised.value.code == 2


def test_a_missing_client_names_the_setting(tmp_path):
    with pytest.raises(OpsError, match="INVOKE_DOCKER_EXECUTABLE"):
        docker.resolve_client(str(tmp_path / "no-docker"), fallback=str(tmp_path / "absent"))


def test_the_ca_bundle_setting_accepts_a_path_none_or_auto(tmp_path, monkeypatch):
    bundle = tmp_path / "corp.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("PIP_CERT", str(bundle))
    assert docker.find_ca_bundle(str(bundle)) == bundle
    assert docker.find_ca_bundle("none") is None
    assert docker.find_ca_bundle(None) is None
    assert docker.find_ca_bundle("auto") == bundle


def test_auto_uses_the_system_trust_store_when_no_variable_names_one(monkeypatch):
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    expected = next((Path(path) for path in docker.SYSTEM_CA_BUNDLES if Path(path).is_file()), None)
    assert docker.find_ca_bundle("auto") == expected


def test_a_ca_bundle_that_does_not_exist_is_refused_with_the_flag_to_fix(tmp_path):
    with pytest.raises(OpsError, match="--ca-bundle PATH"):
        docker.find_ca_bundle(str(tmp_path / "missing.pem"))
