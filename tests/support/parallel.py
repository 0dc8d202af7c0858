"""The suite on several pytest-xdist workers (`invoke test` runs `pytest -n N --dist loadgroup`).

Two rules keep a parallel run as trustworthy as a serial one:

- **Shared state, one worker.** Tests using the Docker engine (`docker_engine`, `built_image`, the
  `docker` marker) form the xdist group "docker": one engine started, one image built, one set of names
  and tags. Other tests sharing something machine-wide name their group with
  `pytest.mark.xdist_group(...)` themselves. Every other test is grouped with its module.
- **CPU-bound outcomes, alone.** A test marked `alone` puts the CPU under load that decides its outcome
  (timeouts, health checks, drain delays on 2 cores), or times signals (readiness turning 503 within
  2 s of SIGTERM): while it runs, no other test runs on any worker.
  A readers-writer lock over two files shared by the workers: every test holds the room shared, an
  `alone` test holds it exclusively; the turnstile makes workers wait behind a waiting `alone` test, so it
  is never starved. Consecutive `alone` tests of one worker keep the room between them.
"""

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

import pytest

LOCKS_ENV = "PREDIRIS_TEST_LOCKS"
DOCKER_FIXTURES = frozenset({"docker_engine", "built_image"})
ALONE = "alone"


class Room:
    """A readers-writer lock across processes (flock on two files in `folder`)."""

    def __init__(self, folder: Path):
        self.turnstile = open(folder / "turnstile", "a")  # noqa: SIM115 (held for the worker's life)
        self.room = open(folder / "room", "a")  # noqa: SIM115
        self.held: bool | None = None  # None: not in the room; True: alone; False: shared

    def enter(self, alone: bool) -> None:
        if self.held == alone:
            return
        self.leave()
        fcntl.flock(self.turnstile, fcntl.LOCK_EX)
        fcntl.flock(self.room, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.flock(self.turnstile, fcntl.LOCK_UN)
        self.held = alone

    def leave(self) -> None:
        if self.held is None:
            return
        fcntl.flock(self.room, fcntl.LOCK_UN)
        if self.held:
            fcntl.flock(self.turnstile, fcntl.LOCK_UN)
        self.held = None

    def close(self) -> None:
        self.leave()
        self.turnstile.close()
        self.room.close()


ROOM = pytest.StashKey[Room]()


def configure(config: pytest.Config) -> None:
    """Controller: make the lock folder the workers inherit; worker: open the room in it."""
    if hasattr(config, "workerinput"):
        folder = os.environ.get(LOCKS_ENV)
        if folder:
            config.stash[ROOM] = Room(Path(folder))
    elif config.getoption("numprocesses", None):
        os.environ[LOCKS_ENV] = tempfile.mkdtemp(prefix="prediris-test-locks-")


def unconfigure(config: pytest.Config) -> None:
    if ROOM in config.stash:
        config.stash[ROOM].close()
    elif not hasattr(config, "workerinput") and LOCKS_ENV in os.environ:
        shutil.rmtree(os.environ.pop(LOCKS_ENV), ignore_errors=True)


def group(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test its xdist group and, on a worker, order the groups as they are handed out.

    Groups: the Docker engine's tests form "docker"; the modules holding an `alone` test form "alone"
    (run back to back: the other workers wait once, not once per test); every other test without a
    group of its own is in its module's: a module's tests run in order on one worker, as in a serial
    run, and its module fixtures start once. Order: "alone" first (nothing runs yet, nothing to wait
    for), its `alone` tests before its other ones (the room is held exclusively once, from the first
    `alone` test to the last: no test of another worker starts in between, to be waited for), then
    "docker" (the longest chain: the image build, then every test of the image), then the groups with
    end-to-end tests, then the rest, which fills the end.
    """
    alone_modules = {item.nodeid.split("::", 1)[0] for item in items if is_alone(item)}
    groups = {}
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None:
            module = item.nodeid.split("::", 1)[0]
            uses_docker = DOCKER_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("docker")
            name = "docker" if uses_docker else ALONE if module in alone_modules else module
            item.add_marker(pytest.mark.xdist_group(name))
        else:
            name = mark.args[0] if mark.args else mark.kwargs.get("name", "default")
        groups[item] = name
    if hasattr(config, "workerinput"):
        end_to_end = {groups[item] for item in items if item.get_closest_marker("e2e")}
        rank = {ALONE: 1, "docker": 2}

        def order(item: pytest.Item) -> int:
            if groups[item] == ALONE and is_alone(item):
                return 0
            return rank.get(groups[item], 3 if groups[item] in end_to_end else 4)

        items.sort(key=order)


def is_alone(item: pytest.Item | None) -> bool:
    return item is not None and item.get_closest_marker(ALONE) is not None


def enter(item: pytest.Item) -> None:
    room = item.config.stash.get(ROOM, None)
    if room is not None:
        room.enter(is_alone(item))


def leave(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    room = item.config.stash.get(ROOM, None)
    if room is not None and not (is_alone(item) and is_alone(nextitem)):
        room.leave()
