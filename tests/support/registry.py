"""A real local container registry for tests: Debian's `docker-registry` (distribution 2.8) on a free
127.0.0.1 port, storage in a temporary folder, and token authentication delegated to the ARM/ACR
stand-in, so `docker login` and `docker push` go through the same steps as with Azure Container Registry.

The Docker engine talks only to the stand-in (the login server, the token realm, /v2/ proxied to the
registry), so the stand-in listens where the engine reaches this machine: 127.0.0.1 for a local engine,
our address on the route to it under docker-in-docker. Off loopback it serves HTTPS, as ACR does, with
a certificate for that address which this process trusts (SSL_CERT_FILE, while it runs); the engine
must list the address in `--insecure-registry` (it then accepts a certificate it cannot verify).
"""

import ipaddress
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prediris_ops.container.engine import job_address
from prediris_ops.core.processes import stop
from tests.support.arm_standin import ArmStandIn
from tests.support.tools import free_port, require_program


@contextmanager
def acr_registry(workdir: Path) -> Iterator[ArmStandIn]:
    """Yield an HTTP(S) stand-in whose netloc is an ACR-like login server backed by a real registry."""
    program = require_program("docker-registry", "apt-get install docker-registry")
    address = job_address()
    # On loopback, plain HTTP: what Docker and `invoke push` accept there (and dockerd does not trust our CA).
    loopback = ipaddress.ip_address(address).is_loopback
    with ArmStandIn(tls=not loopback, host=address) as acr, trusting(None if loopback else acr.ca_path):
        port = free_port()
        config = workdir / "registry.yml"
        config.write_text(
            "\n".join(
                [
                    "version: 0.1",
                    "log: {level: warn}",
                    f"storage: {{filesystem: {{rootdirectory: {workdir / 'storage'}}}}}",
                    f"http: {{addr: '127.0.0.1:{port}', relativeurls: true}}",
                    "auth:",
                    "  token:",
                    f"    realm: {acr.url}/oauth2/token",
                    f"    service: '{acr.netloc}'",
                    "    issuer: prediris-standin",
                    f"    rootcertbundle: {acr.registry_signing_cert}",
                    "",
                ]
            )
        )
        acr.registry_backend = f"http://127.0.0.1:{port}"
        with open(workdir / "registry.log", "wb") as log:
            process = subprocess.Popen([program, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_listening(port, process, workdir / "registry.log")
            yield acr
        finally:
            stop(process)


@contextmanager
def trusting(ca_path: str | None) -> Iterator[None]:
    """Make this process's TLS clients (urllib: `invoke push`'s token exchange) trust `ca_path` while inside."""
    if ca_path is None:
        yield
        return
    previous = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = ca_path
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = previous


def _wait_listening(port: int, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    # /v2/ answers 401 without a token, so "listening" is the readiness signal here, not a 2xx.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"docker-registry exited with status {process.returncode}: {log.read_text()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"docker-registry did not listen on 127.0.0.1:{port} within {timeout:.0f} s")
