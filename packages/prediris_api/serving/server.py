"""Serve the app with waitress: production settings, admission control, and a graceful stop.

`prediris-serve` (and `python -m prediris_api`) read `PREDIRIS_*`/`PORT`, verify the model, and
serve. A setting or model that cannot work ends the process with one line on stderr and a
non-zero status, never a traceback.

On SIGTERM (what Docker and Azure send) or SIGINT the server drains: readiness answers 503 at
once, every connection already waiting in the listen backlog is accepted and the listener is
closed, idle keep-alive connections are closed (unless a request is already in their socket
buffer), requests in flight finish and are answered with `Connection: close`, and the process
exits 0 — as soon as no connection is left, or when `shutdown_grace_seconds` have passed.
A second signal stops at once.
"""

import contextlib
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from flask import Flask
from waitress import wasyncore
from waitress.adjustments import Adjustments
from werkzeug.exceptions import HTTPException

from prediris_api.app import create_app, problem_counter
from prediris_api.service import EXTENSION
from prediris_api.serving import accesslog, metrics_port
from prediris_api.serving.admission import AdmissionDispatcher, Limits
from prediris_api.serving.connections import Listener, PredirisChannel
from prediris_api.settings import Settings, SettingsError
from prediris_metrics.metrics import UNMATCHED_ROUTE, PredirisMetrics
from prediris_model import ModelError

log = logging.getLogger("prediris")
# How long one turn of the event loop may wait for activity: how soon a stop signal is noticed.
LOOP_TIMEOUT_SECONDS = 0.2
# While draining, turns are short so the process exits soon after its last connection closes.
DRAIN_TIMEOUT_SECONDS = 0.02


def configure_logging(level: str) -> None:
    """One line per record on stderr; waitress's per-task queue warning is noise under load."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def waitress_options(settings: Settings) -> dict[str, Any]:
    """Return the waitress settings derived from ours."""
    return {
        "host": settings.host,
        "port": settings.port,
        "threads": settings.threads,
        "connection_limit": settings.connection_limit,
        # A backlog deep enough for a burst of new connections while the loop is busy.
        "backlog": 2048,
        "channel_timeout": settings.channel_timeout_seconds,
        # Check for idle and stalled connections often enough that the timeout means what it says.
        "cleanup_interval": max(1, min(30, settings.channel_timeout_seconds // 4)),
        # Waitress refuses a larger body itself (413 problem+json, see connections.py), and an
        # announced Content-Length over it before reading a byte of the body.
        "max_request_body_size": settings.max_body_bytes,
        # Bodies stay in memory (the image's filesystem is read-only): at most connection_limit of them.
        "inbuf_overflow": settings.max_body_bytes + 1,
        # An API request needs a few hundred bytes of headers; 16 KiB bounds what a client can make us hold.
        "max_request_header_size": 16 * 1024,
        # poll() has no FD_SETSIZE limit: needed past ~1000 open connections.
        "asyncore_use_poll": True,
        "ident": "prediris",
        "clear_untrusted_proxy_headers": True,
    }


class Server:
    """The listening sockets, the worker pool with admission control, and the drain on stop."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        service = app.extensions[EXTENSION]
        metrics = service.metrics
        self.settings = settings
        self.draining = service.draining
        self.socket_map: dict[int, Any] = {}
        self.adjustments = Adjustments(**waitress_options(settings))
        self.dispatcher = AdmissionDispatcher(Limits(settings.max_in_flight, settings.max_queue, settings.retry_after_seconds))
        self.listeners = [
            Listener(
                app,
                self.socket_map,
                dispatcher=self.dispatcher,
                adj=self.adjustments,
                sockinfo=sockinfo,
                draining=self.draining,
                limits=self.dispatcher.limits,
                on_problem=problem_counter(metrics),
                on_shed=_count_shed(app, metrics),
            )
            for sockinfo in self.adjustments.listen
        ]
        self.dispatcher.call_soon = self.listeners[0].trigger.pull_trigger
        # Count what Container Apps' ingress counts and KEDA's trigger reads: requests executing or queued
        # for a worker thread (Flask's hooks alone see only the executing ones).
        metrics.in_flight.set_function(lambda: self.dispatcher.in_flight()[0])
        self.dispatcher.set_thread_count(settings.threads)
        self.effective_host, self.effective_port = self.listeners[0].effective_host, self.listeners[0].effective_port
        self._stop_requested = False
        self._hurry = False

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Start draining (safe in a signal handler); a second call stops without waiting."""
        self._hurry = self._stop_requested
        self._stop_requested = True
        self.draining.set()

    def connections(self) -> list[PredirisChannel]:
        """Return the open client connections."""
        return [channel for listener in self.listeners for channel in list(listener.active_channels.values())]

    def run(self) -> None:
        """Serve until `stop`, then drain; return once drained or the grace period is over."""
        while not self._stop_requested:
            wasyncore.loop(timeout=LOOP_TIMEOUT_SECONDS, map=self.socket_map, use_poll=True, count=1)
        self._drain()

    def _drain(self) -> None:
        started = time.monotonic()
        deadline = started + self.settings.shutdown_grace_seconds
        accepted = self._stop_listening()
        in_flight, _ = self.dispatcher.in_flight()
        log.info(
            "draining: listener closed (%d connections taken from its backlog), %d connections open, %d requests in flight; "
            "waiting up to %g s",
            accepted,
            len(self.connections()),
            in_flight,
            self.settings.shutdown_grace_seconds,
        )
        while not self._hurry and time.monotonic() < deadline:
            self._close_idle_connections()
            for listener in self.listeners:  # closed listeners no longer run it: lingering closes must end
                listener.maintenance(time.time())
            if not self.connections():
                break
            wasyncore.loop(timeout=DRAIN_TIMEOUT_SECONDS, map=self.socket_map, use_poll=True, count=1)
        left = self.connections()
        self.dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(self.socket_map)
        if left:
            why = "a second signal" if self._hurry else "grace period over"
            log.warning("stopped after %.2f s with %d connections still open (%s)", time.monotonic() - started, len(left), why)
        else:
            log.info("drained in %.2f s: every request in flight was answered", time.monotonic() - started)

    def _stop_listening(self) -> int:
        """Accept what already waits in the backlog (those clients sent before the stop), then close."""
        before = len(self.connections())
        for listener in self.listeners:
            for _ in range(self.adjustments.backlog):
                count = len(listener.active_channels)
                listener.handle_accept()
                if len(listener.active_channels) == count:
                    break
            listener.accepting = False
            # Not listener.close(): that would also close the trigger the worker threads wake us with.
            wasyncore.dispatcher.close(listener)
        return len(self.connections()) - before

    def _close_idle_connections(self) -> None:
        """Close keep-alive connections with no request in progress and nothing unread in their socket."""
        for channel in self.connections():
            if channel.requests or channel.request is not None or channel.total_outbufs_len or channel.will_close:
                continue
            try:
                pending = channel.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except OSError:  # nothing pending (EAGAIN), or a broken socket: close it either way
                pending = b""
            if not pending:
                channel.handle_close()


def _count_shed(app: Flask, metrics: PredirisMetrics) -> Callable[[str, str, str], None]:
    """Return on_shed(method, path, reason): count a shed request under its route template, as the hooks do."""
    routes = app.url_map.bind("localhost")  # used on the event-loop thread only

    def count(method: str, path: str, reason: str) -> None:
        try:
            rule, _ = routes.match(path, method, return_rule=True)
            route = rule.rule
        except HTTPException:  # not found, wrong method, or a redirect: what the hooks count as unmatched
            route = UNMATCHED_ROUTE
        metrics.count_shed(method, route, reason)

    return count


def build_server(settings: Settings, app: Flask | None = None) -> Server:
    """Create (but do not run) the server for `app` (by default, create_app)."""
    app = app if app is not None else create_app({"settings": settings})
    if settings.access_log:
        accesslog.init_app(app)
    server = Server(app, settings)
    metrics_port.start(settings, app.extensions[EXTENSION].metrics.registry)
    return server


def main(argv: list[str] | None = None) -> int:
    """Entry point: serve until stopped; return the process exit status."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"prediris: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        server = build_server(settings)
    except (ModelError, metrics_port.MetricsPortError) as error:
        print(f"prediris: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"prediris: cannot listen on {settings.host}:{settings.port} ({error.strerror}); set PREDIRIS_PORT to a free port",
            file=sys.stderr,
        )
        return 1
    log.info(
        "serving on http://%s:%s with %d threads, admitting %d requests in flight (%d waiting) at most",
        server.effective_host,
        server.effective_port,
        settings.threads,
        settings.max_in_flight,
        settings.max_queue,
    )
    # Docker and Azure stop a container with SIGTERM; Ctrl-C sends SIGINT: both drain.
    signal.signal(signal.SIGTERM, server.stop)
    signal.signal(signal.SIGINT, server.stop)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
