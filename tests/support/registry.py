"""A real local container registry for tests: Debian's `docker-registry` (distribution 2.8) on a free
127.0.0.1 port, storage in a temporary folder, and token authentication delegated to the ARM/ACR
stand-in, so `docker login` and `docker push` go through the same steps as with Azure Container Registry.
"""

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prediris_ops.core.processes import stop
from tests.support.arm_standin import ArmStandIn
from tests.support.tools import free_port, require_program


@contextmanager
def acr_registry(workdir: Path) -> Iterator[ArmStandIn]:
    """Yield an HTTP stand-in whose netloc is an ACR-like login server backed by a real registry."""
    program = require_program("docker-registry", "apt-get install docker-registry")
    with ArmStandIn(tls=False) as acr:
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
