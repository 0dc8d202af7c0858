"""The waitress internals this package relies on, as data, and the check that they are still there.

Every name below is outside waitress's documented API (see the package docstring for why each is
used). `setup.cfg` pins waitress to the minor version they were read from; `broken()` answers, one
line per difference, whether the installed waitress still has each attribute with the same
signature. tests/api/test_waitress_contract.py runs it, so an upgrade that moves one of them fails
the test suite with the name that changed instead of misbehaving under load.
"""

import inspect
import socket
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from importlib import import_module
from importlib.metadata import version
from typing import Any

# The waitress release the names and signatures below were read from.
TESTED_VERSION = "3.0.2"

# Callables: "module:Class.attribute" (or "module:function") -> the signature we call or override.
SIGNATURES = {
    "waitress.task:ThreadedTaskDispatcher.__init__": "(self)",
    "waitress.task:ThreadedTaskDispatcher.add_task": "(self, task)",
    "waitress.task:ThreadedTaskDispatcher.set_thread_count": "(self, count)",
    "waitress.task:ThreadedTaskDispatcher.shutdown": "(self, cancel_pending=True, timeout=5)",
    "waitress.task:Task.__init__": "(self, channel, request)",
    "waitress.task:Task.build_response_header": "(self)",
    "waitress.task:Task.set_close_on_finish": "(self) -> None",
    "waitress.task:Task.write": "(self, data)",
    "waitress.task:WSGITask.execute": "(self)",
    "waitress.task:ErrorTask.execute": "(self)",
    "waitress.channel:HTTPChannel.__init__": "(self, server, sock, addr, adj, map=None)",
    "waitress.channel:HTTPChannel.handle_close": "(self)",
    "waitress.channel:HTTPChannel.handle_read": "(self)",
    "waitress.channel:HTTPChannel.readable": "(self)",
    "waitress.channel:HTTPChannel.writable": "(self)",
    "waitress.channel:HTTPChannel.service": "(self)",
    "waitress.channel:HTTPChannel.cancel": "(self)",
    "waitress.parser:HTTPRequestParser.__init__": "(self, adj)",
    "waitress.parser:HTTPRequestParser.received": "(self, data)",
    "waitress.server:TcpWSGIServer.__init__": (
        "(self, application, map=None, _start=True, _sock=None, dispatcher=None, adj=None, sockinfo=None, bind_socket=True, **kw)"
    ),
    "waitress.server:TcpWSGIServer.handle_accept": "(self)",
    "waitress.server:TcpWSGIServer.maintenance": "(self, now)",
    "waitress.trigger:trigger.pull_trigger": "(self, thunk=None)",
    "waitress.wasyncore:loop": "(timeout=30.0, use_poll=False, map=None, count=None)",
    "waitress.wasyncore:close_all": "(map=None, ignore_all=False)",
    "waitress.wasyncore:dispatcher.close": "(self)",
}

# Class attributes we set to plug our classes in: "module:Class" -> names.
CLASS_ATTRIBUTES = {
    "waitress.channel:HTTPChannel": ("task_class", "error_task_class", "parser_class"),
    "waitress.server:TcpWSGIServer": ("channel_class",),
}

# Instance attributes we read or write, on live objects built by `_instances()`.
INSTANCE_ATTRIBUTES = {
    "waitress.task:ThreadedTaskDispatcher": ("lock", "queue", "queue_cv", "threads", "stop_count"),
    "waitress.server:TcpWSGIServer": ("active_channels", "_map", "adj", "trigger", "accepting", "effective_host", "effective_port"),
    "waitress.channel:HTTPChannel": (
        "server",
        "adj",
        "socket",
        "connected",
        "requests",
        "request",
        "requests_lock",
        "total_outbufs_len",
        "will_close",
        "close_when_flushed",
    ),
    "waitress.parser:HTTPRequestParser": ("path", "command", "error"),
    "waitress.task:WSGITask": ("channel", "request", "status", "response_headers", "complete", "content_length", "close_on_finish"),
}


def names_by_class() -> dict[str, set[str]]:
    """Return every name of the contract grouped by what owns it: `waitress.module.Class`, or the module."""
    grouped: dict[str, set[str]] = {}

    def add(target: str, names: Iterable[str] | None) -> None:
        module, _, path = target.partition(":")
        if names is None:  # a signature target: its last part is the name, the rest its owner
            owner, _, last = path.rpartition(".")
            names = {last}
        else:
            owner = path
        grouped.setdefault(f"{module}.{owner}" if owner else module, set()).update(names)

    for target in SIGNATURES:
        add(target, None)
    for group in (CLASS_ATTRIBUTES, INSTANCE_ATTRIBUTES):
        for target, names in group.items():
            add(target, names)
    return grouped


def _resolve(target: str) -> Any:
    module, _, dotted = target.partition(":")
    found = import_module(module)
    for part in dotted.split("."):
        found = getattr(found, part)
    return found


@contextmanager
def _instances() -> Iterator[dict[str, Any]]:
    """Build one live object of each class we reach into: a server on a free port, a channel on a socketpair."""
    from waitress.adjustments import Adjustments  # noqa: PLC0415 - only the check needs live objects
    from waitress.channel import HTTPChannel  # noqa: PLC0415
    from waitress.parser import HTTPRequestParser  # noqa: PLC0415
    from waitress.server import TcpWSGIServer  # noqa: PLC0415
    from waitress.task import ThreadedTaskDispatcher, WSGITask  # noqa: PLC0415

    with ExitStack() as stack:
        adj = Adjustments(host="127.0.0.1", port=0)
        socket_map: dict[int, Any] = {}
        dispatcher = ThreadedTaskDispatcher()
        server = TcpWSGIServer(lambda environ, start_response: [], socket_map, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0])
        stack.callback(server.close)
        ours, theirs = socket.socketpair()
        stack.callback(theirs.close)
        channel = HTTPChannel(server, ours, ("127.0.0.1", 0), adj, socket_map)
        stack.callback(channel.close)
        parser = HTTPRequestParser(adj)
        parser.received(b"GET /contract HTTP/1.1\r\nHost: localhost\r\n\r\n")
        task = WSGITask(channel, parser)
        yield {
            "waitress.task:ThreadedTaskDispatcher": dispatcher,
            "waitress.server:TcpWSGIServer": server,
            "waitress.channel:HTTPChannel": channel,
            "waitress.parser:HTTPRequestParser": parser,
            "waitress.task:WSGITask": task,
        }


def broken() -> list[str]:
    """Return one line per waitress internal that is missing or changed (empty when the contract holds)."""
    problems = []
    for target, expected in SIGNATURES.items():
        try:
            found = str(inspect.signature(_resolve(target)))
        except (ImportError, AttributeError):
            problems.append(f"{target} is gone")
            continue
        if found != expected:
            problems.append(f"{target} signature changed: {expected} -> {found}")
    for target, names in CLASS_ATTRIBUTES.items():
        cls = _resolve(target)
        problems += [f"{target}.{name} is gone" for name in names if not hasattr(cls, name)]
    with _instances() as instances:
        for kind, names in INSTANCE_ATTRIBUTES.items():
            problems += [f"{kind} instances have no attribute {name!r}" for name in names if not hasattr(instances[kind], name)]
    return problems


def installed_version() -> str:
    """Return the installed waitress version."""
    return version("waitress")
