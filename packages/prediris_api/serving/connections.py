"""How prediris's waitress handles each connection, beyond waitress's defaults.

- A request is timed from its first byte: one not fully received within `channel_timeout` is
  closed. Waitress alone closes only idle connections, and a client trickling a byte now and then
  ("slowloris", slow headers or body) never looks idle.
- Waitress's own refusals (a malformed request line, headers or body over the limits, an unknown
  transfer coding) are answered as problem+json, like every error of the API.
- A request that admission control shed is answered 503 without reaching the app.
- While the process drains, the last request read on a connection is answered with
  `Connection: close`, so keep-alive clients move to another replica after their reply.
- A connection closes the way nginx closes one ("lingering close"), so a refused client reads
  why instead of a reset.
"""

import json
import socket
import time
from collections.abc import Callable
from http import HTTPStatus
from threading import Event
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, WSGITask

from prediris_api.protocol.problems import PROBLEM_MEDIA_TYPE, Problem
from prediris_api.serving.admission import SHED_STATUS, Limits, shed_reply

# Connections accepted in one turn of the event loop at most (the rest wait for the next turn).
ACCEPT_BATCH = 128
# How long a closing connection reads and drops what its client still sends, and how much per read.
LINGER_SECONDS = 2.0
LINGER_READ_BYTES = 65536


class TimedParser(HTTPRequestParser):
    """Waitress's request parser, remembering when the request's first byte arrived."""

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.monotonic()


class GuardedTask(WSGITask):
    """Run the app, unless the request was shed; while draining, close the connection after it."""

    def execute(self) -> None:
        reason = getattr(self.request, "prediris_shed", None)
        if reason is not None:
            server = self.channel.server
            headers, body = shed_reply(reason, server.limits.retry_after_seconds, self.request.path)
            # Counted before the reply leaves: a client that reads its 503 finds it in /metrics.
            server.on_shed(self.request.command, self.request.path, reason)
            self.status = SHED_STATUS
            self.response_headers.extend(headers)
            self.complete = True
            self.content_length = len(body)
            self.write(b"" if self.request.command == "HEAD" else body)
            return
        super().execute()

    def build_response_header(self) -> bytes:
        # Decided when the reply starts, so requests already in flight at the stop close too.
        if self.channel.server.draining.is_set() and len(self.channel.requests) <= 1:
            self.set_close_on_finish()
        header: bytes = super().build_response_header()
        return header


def waitress_problem(code: int, body: str, adj: Adjustments) -> Problem:
    """Translate one of waitress's own errors (by status code) into our problem."""
    if code == 413:
        return Problem("body-too-large", f"the body is larger than the limit of {adj.max_request_body_size} bytes")
    if code == 431:
        return Problem(
            "headers-too-large", f"the request line and headers are larger than the limit of {adj.max_request_header_size} bytes"
        )
    if code in (400, 501):  # 501: an unknown Transfer-Encoding; the body cannot be read, so it is a bad request
        return Problem("bad-request", f"the request is not valid HTTP/1.1: {body}")
    return Problem("internal-error", "an unexpected error occurred; it was logged on the server")


class ProblemErrorTask(ErrorTask):
    """Answer waitress's parse and size errors as problem+json (and close, as waitress does)."""

    def execute(self) -> None:
        error = self.request.error
        problem = waitress_problem(error.code, error.body, self.channel.adj)
        self.channel.server.on_problem(problem)
        body = json.dumps(problem.to_dict()).encode()
        self.status = f"{problem.status} {HTTPStatus(problem.status).phrase}"
        self.response_headers.append(("Content-Type", PROBLEM_MEDIA_TYPE))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class PredirisChannel(HTTPChannel):
    """Waitress's connection with our tasks, timed requests, and a lingering close."""

    task_class = GuardedTask
    error_task_class = ProblemErrorTask
    parser_class = TimedParser
    # When set (monotonic seconds), the connection is closing: we sent our last byte and only read.
    linger_deadline = 0.0

    def handle_close(self) -> None:
        """Close as nginx's lingering close does: send FIN, then read and drop what the client still sends.

        Closing a socket with unread input makes the kernel answer with a reset, and a reset destroys
        the reply still in the client's buffers: a client whose body or headers were refused (413, 431)
        would see "connection reset" instead of the problem explaining why.
        """
        if self.linger_deadline or not self.connected or self.socket is None:
            return self.close_now()
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            return self.close_now()
        self.linger_deadline = time.monotonic() + LINGER_SECONDS
        self.will_close = self.close_when_flushed = False
        return None

    def close_now(self) -> None:
        """Close the socket at once."""
        self.linger_deadline = self.linger_deadline or time.monotonic()
        super().handle_close()

    def readable(self) -> bool:
        return True if self.linger_deadline else super().readable()

    def writable(self) -> bool:
        return False if self.linger_deadline else super().writable()

    def handle_read(self) -> None:
        if not self.linger_deadline:
            super().handle_read()
            return
        try:
            data = self.socket.recv(LINGER_READ_BYTES)
        except OSError:
            data = b""
        if not data or time.monotonic() > self.linger_deadline:
            self.close_now()
        return None


class Listener(TcpWSGIServer):
    """Waitress's TCP server with prediris's channels, admission limits and request deadline."""

    channel_class = PredirisChannel

    def __init__(
        self,
        application: Any,
        socket_map: dict[int, Any],
        *,
        dispatcher: Any,
        adj: Adjustments,
        sockinfo: Any,
        draining: Event,
        limits: Limits,
        on_problem: Callable[[Problem], None],
        on_shed: Callable[[str, str, str], None],
    ) -> None:
        self.draining = draining
        self.limits = limits
        self.on_problem = on_problem
        # on_shed(method, path, reason): count a request answered 503 without reaching the app.
        self.on_shed = on_shed
        super().__init__(application, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo)

    def handle_accept(self) -> None:
        """Accept every connection waiting (up to a batch), not one per turn of the loop as waitress does.

        A turn of the loop costs time in proportion to the open connections: accepting one per
        turn, a burst of 500 new clients would wait seconds in the listen backlog.
        """
        for _ in range(ACCEPT_BATCH):
            if len(self._map) >= self.adj.connection_limit:
                return
            before = len(self.active_channels)
            super().handle_accept()
            if len(self.active_channels) == before:  # nothing left to accept (or a failed accept)
                return

    def maintenance(self, now: float) -> None:
        """Close idle connections (waitress), and those stalled mid-request past the channel timeout."""
        super().maintenance(now)
        now = time.monotonic()
        cutoff = now - self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            request = channel.request
            if channel.linger_deadline and channel.linger_deadline < now:
                channel.close_now()
            elif request is not None and not channel.requests and request.started < cutoff:
                channel.will_close = True
