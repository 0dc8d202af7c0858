"""Make a Docker engine and the Dockerfile's base image available, from nothing if need be.

CI machines start with no engine and no registry: when no engine answers, `dockerd` is on PATH and we
run as root, we start `dockerd` in the background and stop it (by its PID) when done. The base image
(`debian:bookworm-slim`) cannot be pulled there, so we build it the way Debian's official images are
built: `debootstrap --variant=minbase`, trimmed like the official "slim" variant, then `docker import`
under the official name. The root filesystem tarball is cached (~/.cache/prediris) for the next run on
the same machine, but everything works from an empty cache.
"""

import ipaddress
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from prediris_ops.core.errors import OpsError
from prediris_ops.core.processes import stop

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "prediris"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# The official images' sources (deb822), so apt inside our image behaves like inside theirs.
DEBIAN_SOURCES = """Types: deb
URIs: http://deb.debian.org/debian
Suites: {suite} {suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
# What Debian's "slim" images leave out (docs, man pages, translations), and the apt settings they ship.
SLIM_DPKG_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
"""
SLIM_PATHS = (
    "usr/share/doc",
    "usr/share/groff",
    "usr/share/info",
    "usr/share/linda",
    "usr/share/lintian",
    "usr/share/locale",
    "usr/share/man",
)
APT_CLEAN_HOOK = '"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"'
APT_DOCKER_CLEAN = f"""DPkg::Post-Invoke {{ {APT_CLEAN_HOOK}; }};
APT::Update::Post-Invoke {{ {APT_CLEAN_HOOK}; }};
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
APT_NO_RECOMMENDS = 'APT::AutoRemove::SuggestsImportant "false";\n'
APT_NO_LANGUAGES = 'Acquire::Languages "none";\n'


@dataclass
class Engine:
    """A Docker engine that answers `docker info` through `docker` (a client executable path)."""

    docker: str
    server_version: str
    # The dockerd we started (None when one was already running): the only process we ever stop.
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None


def server_version(docker: str, timeout: float = 20.0) -> str | None:
    """Return the engine's version when `docker info` answers, else None."""
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = result.stdout.strip()
    return version if result.returncode == 0 and version and "<no value>" not in version else None


def engine_address(environ: Mapping[str, str] = os.environ) -> str:
    """Return where the engine's published ports are reached: 127.0.0.1 for a local engine, else the IP
    of `DOCKER_HOST`'s host (GitLab's docker-in-docker: the engine is another host, its 127.0.0.1 is not ours)."""
    url = urlsplit(environ.get("DOCKER_HOST", ""))
    if url.scheme != "tcp" or not url.hostname:
        return "127.0.0.1"
    try:
        address = socket.gethostbyname(url.hostname)
    except OSError as error:
        raise OpsError(f"DOCKER_HOST names {url.hostname}, which does not resolve ({error})", code=2) from None
    return "127.0.0.1" if ipaddress.ip_address(address).is_loopback else address


def job_address(environ: Mapping[str, str] = os.environ) -> str:
    """Return this machine's address as the engine sees it, where a server the engine must reach (a
    registry, its token endpoint) listens: 127.0.0.1 for a local engine, else our end of the route to it."""
    engine_host = engine_address(environ)
    if engine_host == "127.0.0.1":
        return engine_host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((engine_host, 9))  # UDP connect sends nothing: it only picks the route and our address
        return probe.getsockname()[0]


def can_start_engine() -> str | None:
    """Return why we cannot start dockerd here, or None when we can (root, dockerd on PATH)."""
    if shutil.which("dockerd") is None:
        return "dockerd is not on PATH (apt-get install docker.io, or start Docker Desktop)"
    if os.geteuid() != 0:
        return "starting dockerd needs root (start your Docker engine yourself)"
    return None


def start_engine(
    docker: str,
    log_path: Path,
    timeout: float = 90.0,
    dockerd_args: Sequence[str] = (),
    wrapper: Sequence[str] = (),
    on_timeout: Callable[[], None] | None = None,
) -> Engine:
    """Start dockerd in the background and wait until `docker info` answers.

    `dockerd_args` are added to its command line; `wrapper` runs it under another command (the tests
    use `unshare --net` so that a second engine cannot touch the host's docker0 bridge); `on_timeout` is
    called when it does not answer in time, before it is stopped (to look at what it was stuck on).
    """
    reason = can_start_engine()
    if reason:
        raise OpsError(f"no Docker engine answers and {reason}", code=2)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        # Its own session: a Ctrl-C in the terminal reaches the tests, not the engine mid-write.
        process = subprocess.Popen(
            [*wrapper, shutil.which("dockerd") or "dockerd", *dockerd_args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise OpsError(f"dockerd exited with status {process.returncode} while starting; see {log_path}", code=1)
        version = server_version(docker, timeout=5)
        if version:
            return Engine(docker, version, process, log_path)
        time.sleep(0.5)
    if on_timeout is not None:
        on_timeout()
    stop_engine(Engine(docker, "", process, log_path))
    raise OpsError(f"dockerd did not answer `docker info` within {timeout:.0f} s; see {log_path}", code=1)


def stop_engine(engine: Engine, grace: float = 30.0) -> None:
    """Stop the dockerd we started (SIGTERM, then SIGKILL after `grace`); leave any other engine alone."""
    if engine.process is not None:
        stop(engine.process, grace)


@contextmanager
def engine(docker: str, log_path: Path, start: bool = True) -> Iterator[Engine]:
    """Yield an engine: the running one, or (with `start`) a dockerd started here and stopped afterwards."""
    version = server_version(docker)
    if version:
        yield Engine(docker, version)
        return
    if not start:
        raise OpsError(f"no Docker engine answers `{docker} info`: start dockerd (or Docker Desktop)", code=2)
    started = start_engine(docker, log_path)
    try:
        yield started
    finally:
        stop_engine(started)


def image_present(docker: str, reference: str) -> bool:
    """Return True when the engine holds an image called `reference`."""
    result = subprocess.run([docker, "image", "inspect", "--format", "{{.Id}}", reference], capture_output=True, text=True, check=False)
    return result.returncode == 0


def apt_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """Return the Debian mirror the host's apt uses (debootstrap fetches from it), or deb.debian.org."""
    candidates = [*sorted(sources_dir.glob("sources.list.d/*.sources")), sources_dir / "sources.list"]
    for path in candidates:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split()
            if path.suffix == ".sources" and words[:1] == ["URIs:"] and len(words) > 1 and words[1].rstrip("/").endswith("/debian"):
                return words[1].rstrip("/")
            if words[:1] == ["deb"]:
                uri = next((word for word in words[1:] if "://" in word), "")
                if uri.rstrip("/").endswith("/debian"):
                    return uri.rstrip("/")
    return DEFAULT_MIRROR


def debootstrap_argv(suite: str, target: Path, mirror: str) -> list[str]:
    """Return the debootstrap command that makes a minimal Debian root filesystem in `target`."""
    return ["debootstrap", "--variant=minbase", suite, str(target), mirror]


def slim_down(root: Path, suite: str) -> None:
    """Trim a debootstrapped tree like Debian's official slim images, and point apt where they do."""
    for relative in SLIM_PATHS:
        directory = root / relative
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            keep_copyright = relative == "usr/share/doc" and (entry / "copyright").exists()
            if keep_copyright and entry.is_dir():
                for inner in entry.iterdir():
                    if inner.name != "copyright":
                        _remove(inner)
            elif not (relative == "usr/share/locale" and entry.name == "locale.alias"):
                _remove(entry)
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (root / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    (root / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/dpkg/dpkg.cfg.d/docker").write_text(SLIM_DPKG_EXCLUDES)
    apt_conf = root / "etc/apt/apt.conf.d"
    apt_conf.mkdir(parents=True, exist_ok=True)
    (apt_conf / "docker-clean").write_text(APT_DOCKER_CLEAN)
    (apt_conf / "docker-autoremove-suggests").write_text(APT_NO_RECOMMENDS)
    (apt_conf / "docker-no-languages").write_text(APT_NO_LANGUAGES)
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    (root / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list.d/debian.sources").write_text(DEBIAN_SOURCES.format(suite=suite))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def base_rootfs(cache_dir: Path, suite: str = "bookworm", mirror: str | None = None, max_age_days: float = 7.0) -> Path:
    """Return a cached root filesystem tarball of Debian `suite`, debootstrapping it when absent or stale."""
    tarball = cache_dir / f"debian-{suite}-minbase.tar"
    if tarball.exists() and time.time() - tarball.stat().st_mtime < max_age_days * 86400:
        return tarball
    if shutil.which("debootstrap") is None:
        raise OpsError("debootstrap is not on PATH: apt-get install debootstrap (it builds the base image locally)", code=2)
    if os.geteuid() != 0:
        raise OpsError("building the base image with debootstrap needs root; or `docker pull` it where a registry is reachable", code=2)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="rootfs-") as work:
        root = Path(work) / "rootfs"
        argv = debootstrap_argv(suite, root, mirror or apt_mirror())
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-1:]
            raise OpsError(f"debootstrap failed with status {result.returncode}: {tail[0] if tail else 'no output'}", code=1)
        slim_down(root, suite)
        partial = tarball.with_suffix(".tar.partial")
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
            # Numeric owners only: the host's user names must not leak into the image.
            archive.add(root, arcname=".", filter=_numeric_owner)
        os.replace(partial, tarball)
    return tarball


def _numeric_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uname = info.gname = ""
    return info


def import_argv(docker: str, tarball: Path, reference: str) -> list[str]:
    """Return the `docker import` command that turns a root filesystem tarball into `reference`."""
    return [
        docker,
        "import",
        "--change",
        'CMD ["bash"]',
        "--message",
        f"debootstrap minbase, slimmed ({tarball.name})",
        str(tarball),
        reference,
    ]


def suite_of(reference: str) -> str:
    """Return the Debian suite a `debian:<suite>[-variant]` reference names (bookworm for debian:bookworm-slim)."""
    name, _, tag = reference.rpartition(":")
    if not name.endswith("debian") or not tag:
        raise OpsError(f"cannot build {reference} locally: only debian:<suite>[-slim] images can be debootstrapped", code=2)
    return tag.split("-")[0]


def ensure_base_image(docker: str, reference: str, cache_dir: Path = DEFAULT_CACHE, mirror: str | None = None) -> str:
    """Make sure the engine has `reference`: present, pulled, or debootstrapped and imported; say which."""
    if image_present(docker, reference):
        return "present"
    pulled = subprocess.run([docker, "pull", "--quiet", reference], capture_output=True, text=True, timeout=300, check=False)
    if pulled.returncode == 0:
        return "pulled"
    tarball = base_rootfs(cache_dir, suite_of(reference), mirror)
    imported = subprocess.run(import_argv(docker, tarball, reference), capture_output=True, text=True, check=False)
    if imported.returncode != 0:
        raise OpsError(f"docker import of {tarball} failed: {imported.stderr.strip()}", code=1)
    return f"imported from {tarball}"
