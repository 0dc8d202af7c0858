"""The requests waiting in granian's queue for a Python thread, which the WSGI app never sees: read
from granian's own Prometheus exporter (`granian_blocking_queue`), so that the in-flight gauge counts
the requests a replica is executing or has waiting, as a balancer or Azure's HTTP rule would.

The exporter listens on 127.0.0.1 only, on a free port picked at start (every replica on a machine
has its own), and refreshes its figures every second: the queue read is at most that old.
"""

import socket
from urllib.request import ProxyHandler, build_opener

from prometheus_client.parser import text_string_to_metric_families

EXPORTER_HOST = "127.0.0.1"
EXPORTER_REFRESH_SECONDS = 1  # granian's shortest interval
QUEUE_FAMILY = "granian_blocking_queue"
# Never through an HTTP proxy from the environment: the exporter is on this machine.
_direct = build_opener(ProxyHandler({}))


def free_port(host: str = EXPORTER_HOST) -> int:
    """Return a TCP port on `host` that was free a moment ago (for granian's exporter to listen on)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class GranianQueue:
    """Callable: the requests waiting for a thread, as granian's exporter on `port` last counted them
    (0 while it does not answer: before it has started, or after it has stopped)."""

    def __init__(self, port: int, timeout: float = 0.5) -> None:
        self.url = f"http://{EXPORTER_HOST}:{port}/metrics"
        self.timeout = timeout

    def __call__(self) -> int:
        try:
            with _direct.open(self.url, timeout=self.timeout) as reply:
                text = reply.read().decode()
        except OSError:
            return 0
        families = text_string_to_metric_families(text)
        return int(sum(sample.value for family in families if family.name == QUEUE_FAMILY for sample in family.samples))
