"""The base image is pinned by digest in the Dockerfile; a base built locally (no registry digest) is
passed explicitly, with one line saying the pin is bypassed. Checked against a real engine."""

import io
import re
import subprocess
import tarfile

import pytest

from prediris_ops.container import image
from prediris_ops.container.build import plan_build
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from tests.support.config import project_config

PIN = re.compile(r"^debian:bookworm-slim@sha256:[0-9a-f]{64}$")
LOCAL = "prediris-test-base:no-registry-digest"


def test_the_dockerfile_pins_its_base_image_by_digest(tmp_path):
    assert PIN.match(image.pinned_base(ROOT / "Dockerfile"))
    unpinned = tmp_path / "Dockerfile"
    unpinned.write_text("ARG BASE_IMAGE=debian:bookworm-slim\nFROM ${BASE_IMAGE}\n")
    with pytest.raises(OpsError, match=r"has no `ARG BASE_IMAGE=<image>@sha256:<digest>`: pin the base image by digest$"):
        image.pinned_base(unpinned)


@pytest.fixture
def local_base(docker_engine):
    """An image the engine holds without any registry digest, as `invoke base-image` imports one."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("empty"), io.BytesIO(b""))
    subprocess.run([docker_engine.docker, "import", "-", LOCAL], input=archive.getvalue(), check=True, capture_output=True, timeout=60)
    yield docker_engine.docker
    subprocess.run([docker_engine.docker, "rmi", LOCAL], check=False, capture_output=True, timeout=60)


@pytest.mark.e2e
def test_a_base_built_locally_is_passed_explicitly_and_one_line_says_the_pin_is_bypassed(local_base, model_dir):
    pinned = image.pinned_base(ROOT / "Dockerfile")
    assert image.repo_digests(local_base, LOCAL) == []
    spec, notes = plan_build(project_config(docker={"base_image": LOCAL}), docker=local_base, tags=["t:1"], model_dir=model_dir)
    assert spec.build_args["BASE_IMAGE"] == LOCAL
    assert notes[0] == f"base image: {LOCAL}, built locally without a registry digest: the Dockerfile's pin {pinned} is bypassed"


@pytest.mark.e2e
def test_without_a_local_base_the_build_uses_the_pin(local_base, model_dir):
    pinned = image.pinned_base(ROOT / "Dockerfile")
    config = project_config(docker={"base_image": "prediris-test-base:absent"})
    spec, notes = plan_build(config, docker=local_base, tags=["t:1"], model_dir=model_dir)
    assert (spec.build_args["BASE_IMAGE"], notes[0]) == (pinned, f"base image: {pinned} (the Dockerfile's pin)")
    # An explicit --base-image other than the pin says so too.
    spec, notes = plan_build(config, docker=local_base, tags=["t:1"], model_dir=model_dir, base_image="debian:bookworm-slim")
    assert notes[0] == f"base image: debian:bookworm-slim (--base-image): the Dockerfile's pin {pinned} is bypassed"
