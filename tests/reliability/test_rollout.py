"""Rolling replacement behind a real load balancer (Debian's HAProxy), with retries off: the drain
keeps every request of the clients, and killing a replica instead (SIGKILL) shows that it would not.

Two replicas of `prediris-serve` behind HAProxy, which checks /health/ready every 0.5 s (down after
2 failures, up after 2 passes) and never retries a request elsewhere. Under steady load, each replica
in turn is stopped and a new one started on its port, as a platform replaces replicas.
"""

import contextlib
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from prediris_ops.core.localapi import local_api
from prediris_ops.load.loadgen import generate_load
from tests.support.tools import free_port, require_program

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

CONFIG = """\
global
    stats socket {socket} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 0
    option redispatch 0
frontend api
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    retry-on none
    option httpchk GET /health/ready
    default-server inter 500ms fall 2 rise 2
{servers}
"""
DRAIN_DELAY = 2.5  # > fall × inter + a check's own time: HAProxy stops routing before the replica stops accepting


class Balancer:
    def __init__(self, haproxy: str, folder, ports: list[int]):
        self.port = free_port()
        self.socket = folder / "haproxy.sock"
        servers = "\n".join(f"    server replica{index} 127.0.0.1:{port} check" for index, port in enumerate(ports))
        config = folder / "haproxy.cfg"
        config.write_text(CONFIG.format(socket=self.socket, port=self.port, servers=servers))
        self.process = subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def up(self) -> set[str]:
        """The servers HAProxy routes to now."""
        with socket.socket(socket.AF_UNIX) as stats:
            try:
                stats.connect(str(self.socket))
            except OSError:  # HAProxy is still starting
                return set()
            stats.sendall(b"show stat\n")
            reply = b"".join(iter(lambda: stats.recv(65536), b""))
        rows = [line.split(",") for line in reply.decode().splitlines() if line and not line.startswith("#")]
        return {row[1] for row in rows if row[0] == "replicas" and row[1].startswith("replica") and row[17] == "UP"}

    def wait_up(self, names: set[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not names <= self.up():
            assert time.monotonic() < deadline, f"HAProxy never saw {names} up (up: {self.up()})"
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def haproxy():
    return require_program("haproxy", "apt-get install haproxy")


def start_replica(stack: contextlib.ExitStack, model_dir, folder, port: int, name: str):
    settings = {"drain_delay_seconds": DRAIN_DELAY, "model_kernel": "public"}
    return stack.enter_context(local_api(model_dir, folder / f"{name}.log", port=port, settings=settings, name=name))


def replace_under_load(haproxy, model_dir, tmp_path, stop_replica, replaced=2):
    """Run 20 clients through HAProxy while each of the first `replaced` replicas in turn is stopped by
    `stop_replica` and replaced; return (the clients' LoadResult, the exit statuses of the stopped replicas)."""
    ports = [free_port(), free_port()]
    exits = []
    with contextlib.ExitStack() as stack:
        replicas = [start_replica(stack, model_dir, tmp_path, port, f"replica{index}") for index, port in enumerate(ports)]
        balancer = Balancer(haproxy, tmp_path, ports)
        stack.callback(balancer.stop)
        balancer.wait_up({"replica0", "replica1"})

        def roll() -> None:
            for index, port in enumerate(ports[:replaced]):
                exits.append(stop_replica(replicas[index].process))
                replicas[index] = start_replica(stack, model_dir, tmp_path, port, f"replica{index}-new")
                balancer.wait_up({"replica0", "replica1"})

        result = generate_load(balancer.url, connections=20, duration=60, timeout=10, during=roll, at=1, then=1)
    return result, exits


def drain(process) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(30)


def kill(process) -> int:
    """SIGKILL the replica's every process at once, as a crashed container."""
    for member in [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    return process.wait(30)


def test_replacing_both_replicas_with_sigterm_loses_no_request(haproxy, model_dir, tmp_path):
    result, exits = replace_under_load(haproxy, model_dir, tmp_path, drain)
    print(f"\nrolling replacement through HAProxy, retries off: {result.summary()}")
    assert exits == [0, 0]
    assert dict(result.failures) == {}
    assert set(result.statuses) == {200} and result.replies > 1000


def test_killing_a_replica_instead_fails_requests_so_the_test_above_can_fail(haproxy, model_dir, tmp_path):
    result, exits = replace_under_load(haproxy, model_dir, tmp_path, kill, replaced=1)
    print(f"\nreplacement by SIGKILL through HAProxy, retries off: {result.summary()}")
    assert exits == [-signal.SIGKILL]
    assert sum(result.failures.values()) + sum(count for status, count in result.statuses.items() if status != 200) > 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s"]))
