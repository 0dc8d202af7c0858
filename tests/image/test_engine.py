"""prediris_ops.container.engine: where debootstrap fetches from, how the base image is slimmed, and dockerd's lifecycle."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from prediris_ops.container import docker, engine
from prediris_ops.core.errors import OpsError
from tests.support.config import project_config
from tests.support.tools import missing


def test_the_mirror_comes_from_the_hosts_deb822_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
    )
    assert engine.apt_mirror(tmp_path) == "http://mirror.example/debian"


def test_the_mirror_comes_from_a_one_line_sources_list(tmp_path):
    (tmp_path / "sources.list").write_text("# comment\ndeb [arch=amd64] http://ftp.fr.debian.org/debian bookworm main\n")
    assert engine.apt_mirror(tmp_path) == "http://ftp.fr.debian.org/debian"


def test_without_debian_sources_the_mirror_is_deb_debian_org(tmp_path):
    (tmp_path / "sources.list").write_text("deb https://deb.nodesource.com/node_20.x nodistro main\n")
    assert engine.apt_mirror(tmp_path) == engine.DEFAULT_MIRROR


@pytest.mark.parametrize(
    ("reference", "suite"),
    [("debian:bookworm-slim", "bookworm"), ("debian:trixie", "trixie"), ("docker.io/library/debian:bookworm", "bookworm")],
)
def test_the_suite_is_read_from_the_base_image_tag(reference, suite):
    assert engine.suite_of(reference) == suite


def test_only_debian_base_images_can_be_built_locally():
    with pytest.raises(OpsError, match="only debian:<suite>"):
        engine.suite_of("python:3.11-slim")


def test_debootstrap_makes_a_minbase_system_from_the_mirror(tmp_path):
    assert engine.debootstrap_argv("bookworm", tmp_path, "http://deb.debian.org/debian") == [
        "debootstrap", "--variant=minbase", "bookworm", str(tmp_path), "http://deb.debian.org/debian",
    ]  # fmt: skip


def test_slimming_removes_docs_but_keeps_copyrights_and_points_apt_like_the_official_image(tmp_path):
    for relative in ("usr/share/doc/bash/README", "usr/share/doc/bash/copyright", "usr/share/man/man1/ls.1", "usr/share/locale/fr/x.mo",
                     "usr/share/locale/locale.alias", "var/lib/apt/lists/deb_Packages", "etc/apt/sources.list", "usr/bin/python3"):  # fmt: skip
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    engine.slim_down(tmp_path, "bookworm")
    remaining = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert "usr/share/doc/bash/copyright" in remaining
    assert "usr/share/locale/locale.alias" in remaining
    assert "usr/bin/python3" in remaining
    for gone in (
        "usr/share/doc/bash/README",
        "usr/share/man/man1/ls.1",
        "usr/share/locale/fr/x.mo",
        "var/lib/apt/lists/deb_Packages",
        "etc/apt/sources.list",
    ):
        assert gone not in remaining
    sources = (tmp_path / "etc/apt/sources.list.d/debian.sources").read_text()
    assert "Suites: bookworm bookworm-updates" in sources
    assert "Suites: bookworm-security" in sources
    assert "path-exclude /usr/share/doc/*" in (tmp_path / "etc/dpkg/dpkg.cfg.d/docker").read_text()


def test_the_import_names_the_image_like_the_official_one(tmp_path):
    argv = engine.import_argv("docker", tmp_path / "debian-bookworm-minbase.tar", "debian:bookworm-slim")
    assert argv[:4] == ["docker", "import", "--change", 'CMD ["bash"]']
    assert argv[-2:] == [str(tmp_path / "debian-bookworm-minbase.tar"), "debian:bookworm-slim"]


def test_a_fresh_cached_rootfs_is_reused_without_debootstrap(tmp_path, monkeypatch):
    cached = tmp_path / "debian-bookworm-minbase.tar"
    cached.write_bytes(b"tar")
    monkeypatch.setenv("PATH", "")  # debootstrap would not even be found
    assert engine.base_rootfs(tmp_path, "bookworm") == cached


@pytest.mark.e2e
@pytest.mark.docker
def test_stopping_leaves_an_engine_we_did_not_start_alone(tmp_path):
    client = docker.resolve_client(project_config().docker.executable)
    version = engine.server_version(client)
    if version is None:
        missing("no Docker engine answers `docker info`: start dockerd (or Docker Desktop)")
    # start=True: with an engine already answering, none may be started, and none stopped afterwards.
    with engine.engine(client, tmp_path / "dockerd.log", start=True) as found:
        assert not found.started_here
    assert engine.server_version(client) == version


def test_a_started_engine_is_stopped_by_its_pid():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    engine.stop_engine(engine.Engine("docker", "", process))
    assert process.returncode is not None


@pytest.mark.e2e
@pytest.mark.docker
def test_a_second_dockerd_starts_answers_and_stops(tmp_path, monkeypatch):
    """The CI path for real: start dockerd, wait for `docker info`, stop it by PID.

    This second engine has its own socket, data and network namespace: `--bridge none` makes dockerd
    delete any `docker0` it sees, which must never be the host's (the running engine's) bridge.
    """
    client = shutil.which("docker", path="/usr/bin") or shutil.which("docker")
    if client is None:
        missing("no docker client (apt-get install docker.io)")
    reason = engine.can_start_engine()
    elsewhere = engine.engine_address() != "127.0.0.1"
    if (reason or elsewhere) and engine.server_version(client):
        # A hosted runner: the engine already runs, root's (GitHub, Azure: we are not root) or another
        # host's (GitLab's docker-in-docker); nothing there ever starts one.
        pytest.skip(f"the runner provides the engine: {reason or 'docker-in-docker at ' + os.environ['DOCKER_HOST']}")
    if reason:
        missing(reason)
    if shutil.which("unshare") is None:
        missing("unshare is not on PATH (util-linux)")
    socket = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket}")
    # containerd's sockets live under the exec root: a short path (a unix socket's has at most 104 bytes).
    exec_root = Path(tempfile.mkdtemp(prefix="dockerd-"))
    args = ["--host", f"unix://{socket}", "--data-root", str(tmp_path / "data"), "--exec-root", str(exec_root),
            "--pidfile", str(tmp_path / "docker.pid"), "--bridge", "none", "--iptables=false", "--ip-masq=false"]  # fmt: skip
    bridges_before = host_bridges()
    started = engine.start_engine(client, tmp_path / "dockerd.log", dockerd_args=args, wrapper=["unshare", "--net"])
    try:
        assert started.started_here
        assert engine.server_version(client) == started.server_version
    finally:
        engine.stop_engine(started)
        shutil.rmtree(exec_root, ignore_errors=True)
    assert started.process.returncode == 0
    assert engine.server_version(client, timeout=5) is None
    assert not os.path.exists(socket)
    assert host_bridges() == bridges_before


def host_bridges() -> set[str]:
    return {path.parent.name for path in Path("/sys/class/net").glob("*/bridge")}


@pytest.mark.parametrize(
    ("docker_host", "address"),
    [
        (None, "127.0.0.1"),
        ("unix:///var/run/docker.sock", "127.0.0.1"),
        ("tcp://localhost:2375", "127.0.0.1"),
        ("tcp://127.0.0.1:2375", "127.0.0.1"),
        ("tcp://10.213.0.2:2375", "10.213.0.2"),  # docker-in-docker: another host
    ],
)
def test_published_ports_are_reached_at_the_engines_address(docker_host, address):
    assert engine.engine_address({"DOCKER_HOST": docker_host} if docker_host else {}) == address


def test_a_local_engine_reaches_this_machine_on_loopback():
    assert engine.job_address({}) == engine.job_address({"DOCKER_HOST": "tcp://127.0.0.1:2375"}) == "127.0.0.1"


def test_an_engine_host_that_does_not_resolve_stops_naming_docker_host():
    with pytest.raises(OpsError, match=r"DOCKER_HOST names no-such-engine\.invalid, which does not resolve"):
        engine.engine_address({"DOCKER_HOST": "tcp://no-such-engine.invalid:2376"})
