"""The docker CLI as argument lists: pick a BuildKit-capable client, build, inspect, run and stop.

The client comes from configuration (`docker.executable`, default `docker` on PATH). BuildKit is
required (the Dockerfile mounts the CA bundle as a secret), and a docker CLI 23+ only has it through
the buildx plugin: when the configured client has neither, Debian's `docker.io` client
(`/usr/bin/docker`, 20.10, with BuildKit built in) is used instead when present, and we say so.
"""

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prediris_ops.core.errors import OpsError

# BuildKit is what makes `RUN --mount=type=secret` work with the classic `docker build` command.
BUILDKIT_ENV = {"DOCKER_BUILDKIT": "1"}
DEBIAN_CLIENT = "/usr/bin/docker"
# The secret id the Dockerfile's pip step mounts; keep in sync with the Dockerfile.
CA_SECRET_ID = "ca_bundle"  # noqa: S105 — the id of a BuildKit secret, not a secret
# Where trust stores usually live: Debian/Ubuntu, Fedora/RHEL, macOS/Alpine.
SYSTEM_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


def client_version(docker: str) -> str | None:
    """Return the docker client's version, or None when it does not run."""
    try:
        result = subprocess.run(
            [docker, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # The client prints its version even when no engine answers (then the status is non-zero).
    version = result.stdout.strip().splitlines()[:1]
    return version[0] if version and version[0][:1].isdigit() else None


def has_buildkit(docker: str) -> bool:
    """Return True when `DOCKER_BUILDKIT=1 docker build` works with this client (buildx, or a pre-23 CLI)."""
    version = client_version(docker)
    if version is None:
        return False
    if int(version.split(".")[0]) < 23:
        return True
    buildx = subprocess.run([docker, "buildx", "version"], capture_output=True, text=True, check=False)
    return buildx.returncode == 0


def resolve_client(configured: str, fallback: str = DEBIAN_CLIENT) -> str:
    """Return the path of a BuildKit-capable docker client: the configured one, else Debian's; or stop."""
    path = shutil.which(configured)
    if path and has_buildkit(path):
        return path
    if path != fallback and os.access(fallback, os.X_OK) and has_buildkit(fallback):
        print(f"docker: {path or configured} cannot run BuildKit builds (no buildx plugin); using {fallback}")
        return fallback
    if path is None:
        raise OpsError(
            f"docker client {configured!r} not found: install Docker, or set docker.executable (INVOKE_DOCKER_EXECUTABLE)", code=2
        )
    raise OpsError(
        f"{path} cannot run BuildKit builds: install the buildx plugin, or set docker.executable to a client that can (e.g. {fallback})",
        code=2,
    )


def find_ca_bundle(setting: str | None) -> Path | None:
    """Resolve `docker.ca_bundle`: a path, `none`, or `auto` (PIP_CERT, SSL_CERT_FILE, else the system trust store)."""
    if setting in (None, "", "none", "None"):
        return None
    if setting != "auto":
        path = Path(setting).expanduser()
        if not path.is_file():
            raise OpsError(f"CA bundle {path} does not exist: pass --ca-bundle PATH (a PEM file) or --ca-bundle none", code=2)
        return path
    candidates = [os.environ.get(name) for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")] + list(SYSTEM_CA_BUNDLES)
    return next((Path(path) for path in candidates if path and Path(path).is_file()), None)


@dataclass(frozen=True)
class BuildSpec:
    """Everything a build needs; `argv()` is the exact command."""

    docker: str
    context: Path
    tags: Sequence[str]
    build_args: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: Path | None = None
    dockerfile: str = "Dockerfile"
    progress: str = "auto"

    def argv(self) -> list[str]:
        """Return the `docker build` command (run it with BUILDKIT_ENV)."""
        argv = [self.docker, "build", "--progress", self.progress, "--file", str(self.context / self.dockerfile)]
        for tag in self.tags:
            argv += ["--tag", tag]
        for key, value in sorted(self.build_args.items()):
            argv += ["--build-arg", f"{key}={value}"]
        if self.ca_bundle is not None:
            # A secret, not a build arg or a COPY: mounted only in the pip step, never in a layer.
            argv += ["--secret", f"id={CA_SECRET_ID},src={self.ca_bundle}"]
        return [*argv, str(self.context)]


def build(spec: BuildSpec, log_path: Path | None = None) -> None:
    """Run the build (output to `log_path`, or the terminal); stop with the log's last line on failure."""
    env = {**os.environ, **BUILDKIT_ENV}
    if log_path is None:
        result = subprocess.run(spec.argv(), env=env, check=False)
        tail = ""
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w") as log:
            result = subprocess.run(spec.argv(), env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
        tail = " — " + " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-3:])
    if result.returncode != 0:
        raise OpsError(f"docker build failed with status {result.returncode}{tail}", code=result.returncode)


@dataclass(frozen=True)
class ImageInfo:
    reference: str
    id: str
    size_bytes: int
    config: Mapping[str, Any]

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6

    @property
    def labels(self) -> Mapping[str, str]:
        return self.config.get("Labels") or {}

    @property
    def env(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.config.get("Env") or [])


def inspect_image(docker: str, reference: str) -> ImageInfo:
    """Return the engine's description of `reference` (id, size, config), or stop naming the image."""
    result = subprocess.run([docker, "image", "inspect", reference], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise OpsError(f"no image {reference}: build it first (`invoke build`)", code=1)
    data = json.loads(result.stdout)[0]
    return ImageInfo(reference, data["Id"], int(data["Size"]), data.get("Config") or {})


def history(docker: str, reference: str) -> list[tuple[int, str]]:
    """Return (size in bytes, instruction) for each layer of `reference`, newest first."""
    argv = [docker, "image", "history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", reference]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    rows = []
    for line in result.stdout.splitlines():
        size, _, created_by = line.partition("\t")
        rows.append((int(size or 0), created_by))
    return rows


def run_argv(
    docker: str,
    image: str,
    *,
    name: str,
    publish: Mapping[int, int] | None = None,
    env: Mapping[str, str] | None = None,
    read_only: bool = False,
    tmpfs: Sequence[str] = (),
    options: Sequence[str] = (),
    command: Sequence[str] = (),
    address: str = "127.0.0.1",
) -> list[str]:
    """Return `docker run --detach` for `image`; `publish` maps host ports to container ports, on the
    engine's `address` (127.0.0.1 for a local engine, never all interfaces)."""
    argv = [docker, "run", "--detach", "--name", name]
    for host_port, container_port in (publish or {}).items():
        argv += ["--publish", f"{address}:{host_port}:{container_port}"]
    for key, value in (env or {}).items():
        argv += ["--env", f"{key}={value}"]
    if read_only:
        argv.append("--read-only")
    for mount in tmpfs:
        argv += ["--tmpfs", mount]
    return [*argv, *options, image, *command]


def container_state(docker: str, name: str) -> dict:
    """Return the container's `.State` (Status, Running, ExitCode, OOMKilled, Health, ...)."""
    result = subprocess.run(
        [docker, "container", "inspect", "--format", "{{json .State}}", name], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise OpsError(f"no container {name}: {result.stderr.strip()}", code=1)
    return json.loads(result.stdout)


def stop_argv(docker: str, name: str, grace_seconds: int) -> list[str]:
    """Return `docker stop`: SIGTERM, then SIGKILL after `grace_seconds`."""
    return [docker, "stop", "--time", str(grace_seconds), name]


def remove_container(docker: str, name: str) -> None:
    """Remove the container (running or not) if it exists; never fails."""
    subprocess.run([docker, "rm", "--force", "--volumes", name], capture_output=True, check=False)


def logs(docker: str, name: str, tail: int = 20) -> str:
    """Return the last `tail` lines the container wrote (stdout and stderr)."""
    result = subprocess.run([docker, "logs", "--tail", str(tail), name], capture_output=True, text=True, check=False)
    return (result.stdout + result.stderr).strip()


def wait_healthy(docker: str, name: str, timeout: float = 120.0) -> dict:
    """Wait until Docker reports the container `healthy`; stop early (with its logs) if it exits or turns unhealthy."""
    deadline = time.monotonic() + timeout
    state = container_state(docker, name)
    while time.monotonic() < deadline:
        state = container_state(docker, name)
        health = (state.get("Health") or {}).get("Status")
        if not state.get("Running"):
            raise OpsError(f"container {name} exited with status {state.get('ExitCode')}: {logs(docker, name, 5)}", code=1)
        if health == "healthy":
            return state
        if health == "unhealthy":
            raise OpsError(f"container {name} is unhealthy: {logs(docker, name, 5)}", code=1)
        time.sleep(0.5)
    raise OpsError(f"container {name} was not healthy within {timeout:.0f} s (health: {(state.get('Health') or {}).get('Status')})", code=1)
