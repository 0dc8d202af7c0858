"""What the image is made of, checked with the real Docker engine: the lock's hashes are enforced by the
build, and the SBOM `invoke build` writes lists exactly the distributions in the image."""

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from prediris_ops.container import docker
from prediris_ops.container.build import plan_build
from prediris_ops.container.lock import read_lock
from prediris_ops.container.sbom import write_sbom
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from tests.support.tamper import alter_hash

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
SERVICE_PACKAGES = ("prediris_api", "prediris_metrics", "prediris_model")


def context_with_lock(folder: Path, lock_text: str) -> Path:
    """Return a copy of the image's build context (Dockerfile, .dockerignore, packages) with this lock."""
    for name in ("Dockerfile", ".dockerignore"):
        shutil.copy(ROOT / name, folder / name)
    (folder / "requirements").mkdir()
    (folder / "requirements" / "runtime.lock").write_text(lock_text)
    for package in SERVICE_PACKAGES:
        shutil.copytree(ROOT / "packages" / package, folder / "packages" / package, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_a_lock_with_one_altered_hash_fails_the_build_naming_the_mismatch(docker_engine, tmp_path):
    tampered, original, altered = alter_hash((ROOT / "requirements" / "runtime.lock").read_text(), "blinker")
    (tmp_path / "context").mkdir()
    context = context_with_lock(tmp_path / "context", tampered)
    spec, _ = plan_build(docker_engine.config, docker=docker_engine.docker, tags=["efreiprediris:tampered-lock"], progress="plain")
    log = tmp_path / "build.log"
    with pytest.raises(OpsError, match="docker build failed"):
        docker.build(dataclasses.replace(spec, context=context), log)
    output = log.read_text()
    assert "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE" in output
    # pip lists the expected digests (every one altered), "or" between them, then the digest it got.
    expected = "|".join(altered)
    got = re.search(
        rf"blinker==1\.9\.0 from \S+.*\n.*Expected sha256 (?:{expected})\n(?:.*Expected +or (?:{expected})\n)*.*Got +([0-9a-f]{{64}})",
        output,
    )
    assert got and got.group(1) in original, output[-2000:]


@pytest.mark.image
def test_the_sbom_lists_exactly_the_distributions_locked_and_installed_in_the_image(docker_engine, built_image, tmp_path):
    output = tmp_path / "sbom.cdx.json"
    components = write_sbom(docker_engine.docker, built_image, output)
    assert {canonicalize_name(name): version for name, version in components} == read_lock(ROOT / docker_engine.config.docker.lock_file)
    assert '"bomFormat": "CycloneDX"' in output.read_text()
