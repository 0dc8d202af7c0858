"""`prediris-serve`: the verified app on granian, through granian's public Python API.

`prediris-serve` (and `python -m prediris_api`) read `PREDIRIS_*`/`PORT`, build the app (which
loads and verifies the model), check that the ports are free, then run granian: this process
supervises, one worker process serves (scale out with replicas). A setting, model or port that
cannot work ends the process with one line on stderr and a non-zero status, never a traceback.
On SIGTERM or SIGINT the replica drains (drain.py) and exits 0.
"""

import errno
import logging
import math
import socket
import sys
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from granian import Granian
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import MPServer, MTServer

from prediris_api.app import create_app
from prediris_api.service import EXTENSION
from prediris_api.serving import metrics_port, waiting
from prediris_api.serving.drain import Drain, on_drain_signal
from prediris_api.settings import Settings, SettingsError
from prediris_model import MODEL_NAME, ModelError

log = logging.getLogger("prediris")
# Connections the kernel queues before granian accepts them.
BACKLOG = 2048
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# The app built (and its model verified) before granian starts its worker: a forked worker serves it
# as it is; a spawned one (macOS) builds its own from the same environment.
_built: list[Flask] = []


class ServeError(RuntimeError):
    """Why the server cannot start, in one line naming what to change."""


def configure_logging(level: str) -> None:
    """One line per record on stderr, granian's records included."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)


def granian_logging(level: str) -> dict[str, Any]:
    """granian's logging configuration: its records on stderr, in our format, at our level."""
    return {
        "formatters": {"prediris": {"format": "%(asctime)s %(levelname)s granian %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "prediris", "stream": "ext://sys.stderr"}},
        "loggers": {
            "_granian": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "granian.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }


def granian_server(settings: Settings, exporter_port: int) -> MPServer | MTServer:
    """Return granian configured from our settings (not started), its metrics exporter on
    127.0.0.1:`exporter_port` (what the in-flight gauge reads the waiting requests from)."""
    return Granian(
        "prediris_api.app:create_app",  # what a spawned worker would load; see worker_app
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=settings.threads,
        backpressure=settings.connection_limit,
        backlog=BACKLOG,
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=HTTP1Settings(header_read_timeout=settings.header_timeout_seconds * 1000),
        log_level=LogLevels(settings.log_level.lower()),
        log_dictconfig=granian_logging(settings.log_level),
        # After the drain delay, what granian waits for its worker to answer what it accepted.
        workers_kill_timeout=max(1, math.ceil(settings.shutdown_grace_seconds)),
        metrics_enabled=True,
        metrics_address=waiting.EXPORTER_HOST,
        metrics_port=exporter_port,
        metrics_scrape_interval=waiting.EXPORTER_REFRESH_SECONDS,
    )


def worker_app(target: str) -> WSGIApp:
    """granian's target loader, run in the worker: the app, draining on the supervisor's signal."""
    app = _built[0] if _built else create_app({"settings": Settings.from_env()})
    service = app.extensions[EXTENSION]
    on_drain_signal(service.draining.set)
    metrics_port.start(service.settings, service.metrics)
    return app


def check_free(host: str, port: int, variable: str) -> None:
    """Raise ServeError naming `variable` when `host:port` cannot be listened on."""
    if not port:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            why = "in use" if error.errno == errno.EADDRINUSE else error.strerror
            raise ServeError(f"cannot listen on {host}:{port} ({why}); set {variable} to a free port") from None


def serve(settings: Settings, build: Callable[[Settings], Flask] = lambda settings: create_app({"settings": settings})) -> int:
    """Build the app with `build`, then serve it on granian until stopped; return the exit status."""
    configure_logging(settings.log_level)
    try:
        check_free(settings.host, settings.port, "PREDIRIS_PORT")
        check_free(settings.host, settings.metrics_port, "PREDIRIS_METRICS_PORT")
        _built[:] = [build(settings)]
    except (ModelError, ServeError) as error:
        print(f"prediris: {error}", file=sys.stderr)
        return 1
    exporter_port = waiting.free_port()
    # The built app reads the requests waiting for a thread from granian's exporter (a forked worker
    # serves this app; a spawned one builds its own and counts only the requests it executes).
    _built[0].extensions[EXTENSION].waiting = waiting.GranianQueue(exporter_port)
    server = granian_server(settings, exporter_port)
    drain = Drain(settings.drain_delay_seconds)

    def started() -> None:
        drain.take_over_signals()
        base = f"http://{'127.0.0.1' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}"
        log.info(
            "serving %s on %s (one worker, %d threads, %s); Ctrl-C or SIGTERM stops it",
            MODEL_NAME,
            base,
            settings.threads,
            f"shedding past {settings.max_in_flight} requests" if settings.max_in_flight else "no shedding",
        )
        log.info("try: %s", f"""curl -X POST -H "Content-Type: application/json" -d '{{"X": [5.1,3.5,1.4,0.2]}}' {base}/predict""")

    server.on_startup(started)
    try:
        server.serve(target_loader=worker_app)
    except SystemExit as stopped:  # granian exits 1 when its worker stopped on its own
        if not drain.started.is_set():
            return stopped.code if isinstance(stopped.code, int) else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: serve until stopped; return the process exit status."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"prediris: {error}", file=sys.stderr)
        return 2
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
