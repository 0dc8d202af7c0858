"""A closed-loop HTTP/1.1 load generator over keep-alive connections (asyncio, standard library only).

Each connection sends one request, reads the whole reply, and sends the next; optional pacing
holds a steady total rate. Every reply is counted by status with its latency, and every failure
by kind (timeout, reset, refused, closed), so tests and `invoke soak` can demand exact numbers:
zero timeouts, only 200/503, the server's counters equal to ours. Requests are also recorded
with their send time when asked, so a shutdown test can tell those sent before a signal.

It is not a benchmark tool (wrk and JMeter are): on two shared cores one Python process drives
~5-8k requests/s: enough to overload a replica, not to measure its limit.
"""

import asyncio
import contextlib
import math
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

PREDICT_BODY = b'{"X": [5.1, 3.5, 1.4, 0.2]}'
FAILURES = ("timeout", "reset", "refused", "closed")


@dataclass(frozen=True)
class Target:
    method: str = "POST"
    path: str = "/predict"
    body: bytes = PREDICT_BODY
    content_type: str = "application/json"

    def encode(self, host: str) -> bytes:
        """Return the raw request bytes (keep-alive, explicit length)."""
        head = f"{self.method} {self.path} HTTP/1.1\r\nHost: {host}\r\n"
        if self.body or self.method in ("POST", "PUT"):
            head += f"Content-Type: {self.content_type}\r\nContent-Length: {len(self.body)}\r\n"
        return head.encode("latin-1") + b"\r\n" + self.body


@dataclass
class LoadResult:
    """What the clients saw: replies by status with latencies, failures by kind, and the duration."""

    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    latencies: dict[int, array] = field(default_factory=dict)
    duration: float = 0.0
    # (monotonic send time, status or failure kind) of each request, when recorded.
    records: list[tuple[float, int | str]] = field(default_factory=list)
    retry_after: Counter = field(default_factory=Counter)

    @property
    def replies(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    def percentile(self, status: int, fraction: float) -> float:
        """Return the latency (s) under which `fraction` of the replies of `status` came."""
        values = sorted(self.latencies.get(status, ()))
        if not values:
            return math.nan
        return values[min(len(values) - 1, max(0, math.ceil(fraction * len(values)) - 1))]

    def summary(self) -> str:
        """One line: rate, statuses, p50/p99 of the 200s, failures."""
        rate = self.replies / self.duration if self.duration else 0.0
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items())) or "none"
        failures = ", ".join(f"{kind}: {count}" for kind, count in sorted(self.failures.items())) or "none"
        p50, p99 = self.percentile(200, 0.50), self.percentile(200, 0.99)
        return (
            f"{self.replies} replies in {self.duration:.1f} s ({rate:.0f}/s); statuses {statuses}; "
            f"200s p50 {p50 * 1000:.1f} ms p99 {p99 * 1000:.1f} ms; failures {failures}"
        )


class _Failure(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, bool, str | None]:
    """Read one reply; return (status, connection closes after it, Retry-After)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        raise _Failure("closed" if not error.partial else "reset") from None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    closes = lines[0].startswith("HTTP/1.0")
    retry_after = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            closes = value.strip().lower() == "close"
        elif name == "retry-after":
            retry_after = value.strip()
    if length:
        try:
            await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            raise _Failure("reset") from None
    return status, closes, retry_after


class _Run:
    def __init__(self, url: str, target: Target, *, timeout: float, rate: float | None, connections: int, record: bool):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.payload = target.encode(f"{self.host}:{self.port}")
        self.timeout = timeout
        self.interval = connections / rate if rate else 0.0
        self.record = record
        self.result = LoadResult()

    def count(self, sent: float, outcome: int | str, latency: float, retry_after: str | None = None) -> None:
        result = self.result
        if isinstance(outcome, int):
            result.statuses[outcome] += 1
            result.latencies.setdefault(outcome, array("d")).append(latency)
            if retry_after is not None:
                result.retry_after[retry_after] += 1
        else:
            result.failures[outcome] += 1
        if self.record:
            result.records.append((sent, outcome))

    async def connection(self, stop_at: float, stopping: asyncio.Event, offset: float) -> None:
        """Send requests on one keep-alive connection until `stop_at`, reconnecting after failures."""
        loop = asyncio.get_running_loop()
        next_send = loop.time() + offset
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while not stopping.is_set() and time.monotonic() < stop_at:
                if self.interval:
                    delay = next_send - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_send = max(next_send + self.interval, loop.time() - self.interval)
                if streams is None:
                    try:
                        streams = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
                    except (ConnectionRefusedError, TimeoutError, OSError) as error:
                        self.count(time.monotonic(), "timeout" if isinstance(error, TimeoutError) else "refused", 0.0)
                        await asyncio.sleep(0.05)
                        continue
                reader, writer = streams
                sent = time.monotonic()
                outcome: int | str
                try:
                    async with asyncio.timeout(self.timeout):
                        writer.write(self.payload)
                        status, closes, retry_after = await _read_reply(reader)
                except TimeoutError:
                    outcome, closes = "timeout", True
                except _Failure as failure:
                    outcome, closes = failure.kind, True
                except (ConnectionError, OSError):
                    outcome, closes = "reset", True
                else:
                    outcome = status
                self.count(sent, outcome, time.monotonic() - sent, None if isinstance(outcome, str) else retry_after)
                if closes:
                    writer.close()
                    streams = None
        finally:
            if streams is not None:
                streams[1].close()


async def _drive(
    run: _Run, connections: int, duration: float, during: Callable[[], None] | None, at: float, then: float | None
) -> LoadResult:
    stopping = asyncio.Event()
    started = time.monotonic()
    stop_at = started + duration
    workers = [asyncio.create_task(run.connection(stop_at, stopping, run.interval * index / connections)) for index in range(connections)]
    if during is not None:
        await asyncio.sleep(at)
        # The action (a signal, a probe) runs in a thread so the connections keep going meanwhile.
        await asyncio.to_thread(during)
        if then is not None:  # stop `then` seconds after the action rather than at the full duration
            await asyncio.sleep(then)
            stopping.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*workers)
    run.result.duration = time.monotonic() - started
    return run.result


def generate_load(
    url: str,
    *,
    connections: int,
    duration: float,
    target: Target | None = None,
    timeout: float = 5.0,
    rate: float | None = None,
    record: bool = False,
    during: Callable[[], None] | None = None,
    at: float = 0.0,
    then: float | None = None,
) -> LoadResult:
    """Drive `connections` keep-alive clients at `url` for `duration` s (paced to `rate` req/s if given).

    `during`, if given, is called `at` seconds into the run while the load goes on; with `then`, the
    load stops `then` seconds after `during` returns (or at `duration`, whichever comes first).
    """
    run = _Run(url, target or Target(), timeout=timeout, rate=rate, connections=connections, record=record)
    return asyncio.run(_drive(run, connections, duration, during, at, then))
