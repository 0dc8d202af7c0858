"""`invoke build`, `invoke lock` and `invoke base-image`: what they leave behind and how they end.

The engine is not started here (tests/e2e/test_image*.py build real images): `docker` answers every
command and reports one image, and the tests look at what a user gets: the build record and SBOM
written, the build arguments the engine was asked for, the exit status and the one-line error.
"""

import json
import re
import shlex
from pathlib import Path

import pytest
from invoke import Result
from invoke.exceptions import Exit

from prediris_model import load
from prediris_ops.container import build, docker, engine, sbom
from prediris_ops.container.image import MODEL_LIBRARIES, image_tags
from prediris_ops.container.lock import read_lock
from prediris_ops.core.paths import ROOT
from prediris_ops.tasks import image
from tests.support.tamper import alter_hash
from tests.support.tools import require_program

LABELS = {"OCI_CREATED": "2026-01-02T03:04:05Z", "OCI_REVISION": "abc", "OCI_SOURCE": "https://example.org/p", "OCI_VERSION": "0.1.0"}


@pytest.fixture
def engine_reports(monkeypatch):
    """The engine reports one built image; the SBOM writer records which image it described."""
    monkeypatch.setattr(docker, "resolve_client", lambda configured: "/usr/bin/docker")
    # The engine holds debian:bookworm-slim as `invoke base-image` imports it: no registry digest, so the pin is bypassed.
    monkeypatch.setattr("prediris_ops.container.image.repo_digests", lambda client, ref: [] if ref == "debian:bookworm-slim" else None)
    monkeypatch.setattr(build, "label_args", lambda root, source: dict(LABELS))
    monkeypatch.setattr(docker, "inspect_image", lambda client, reference: docker.ImageInfo(reference, "sha256:feed", 400_000_000, {}))
    monkeypatch.setattr(docker, "history", lambda client, reference: [(276_000_000, "COPY /opt/venv /opt/venv")])
    described = []

    def write_sbom(client, reference, output):
        described.append(reference)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("{}")
        return [("flask", "3.1.3")]

    monkeypatch.setattr(sbom, "write_sbom", write_sbom)
    return described


@pytest.fixture
def outputs(tmp_path):
    """Where the build record and the SBOM go in these tests (never the project's build/)."""
    return {"build_record": str(tmp_path / "image" / "build.json"), "sbom": str(tmp_path / "image" / "sbom.cdx.json")}


@pytest.fixture
def matching_lock(model_dir, tmp_path):
    """A lock pinning the model libraries at the versions the session's model was trained with."""
    versions = load(model_dir).card["versions"]
    path = tmp_path / "runtime.lock"
    path.write_text("".join(f"{name}=={versions[name]}\n" for name in MODEL_LIBRARIES))
    return path


def build_args(c) -> dict[str, str]:
    """Return the --build-arg pairs of the `docker build` the task asked the engine for."""
    commands = [shlex.split(call.args[0]) for call in c.run.call_args_list]
    argv = next(argv for argv in commands if argv[1:2] == ["build"])
    return dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "--build-arg")


def test_build_records_the_image_it_built_with_its_sbom_and_ci_run(
    make_context, engine_reports, outputs, model_dir, matching_lock, tmp_path, monkeypatch
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "efrei/prediris")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    c = make_context(run=Result(), model={"dir": str(model_dir)}, docker={"lock_file": str(matching_lock), **outputs})
    image.build(c, ca_bundle="none")
    tags = image_tags("efreiprediris", ROOT)
    record = json.loads(Path(outputs["build_record"]).read_text())
    assert record["image_id"] == "sha256:feed" and record["tags"] == tags and record["revision"] == "abc"
    assert record["ci_run"]["url"] == "https://github.com/efrei/prediris/actions/runs/42"
    assert record["sbom"] == outputs["sbom"] and Path(outputs["sbom"]).is_file()
    assert engine_reports == [tags[0]]  # the SBOM describes the image just built
    # Trained with the lock's versions, the local model is pinned: the image must hold exactly it.
    assert build_args(c)["MODEL_SHA256"] == load(model_dir).sha256


def test_build_arguments_from_flags_and_configuration_reach_the_engine_and_an_unmatched_lock_pins_no_model(
    make_context, engine_reports, outputs, model_dir, tmp_path
):
    c = make_context(
        run=Result(),
        model={"dir": str(model_dir)},
        docker={"lock_file": str(tmp_path / "no.lock"), "build_args": {"FROM_CONFIG": "yes"}, **outputs},
    )
    image.build(c, build_arg=["EXTRA=1"], ca_bundle="none")
    args = build_args(c)
    assert args["EXTRA"] == "1" and args["FROM_CONFIG"] == "yes" and args["OCI_REVISION"] == "abc"
    assert "MODEL_SHA256" not in args


def test_a_build_that_fails_ends_with_its_status_and_records_nothing(make_context, engine_reports, outputs, model_dir, tmp_path):
    engine_answers = {re.compile(r"\S+ build .*"): Result(exited=17), re.compile(".*"): Result()}
    c = make_context(run=engine_answers, model={"dir": str(model_dir)}, docker={"lock_file": str(tmp_path / "no.lock"), **outputs})
    with pytest.raises(Exit, match="failed with status 17") as raised:
        image.build(c, ca_bundle="none")
    assert raised.value.code == 17
    assert not Path(outputs["build_record"]).exists()


def test_a_malformed_build_arg_ends_in_one_line_before_any_build(make_context, engine_reports, outputs, model_dir):
    c = make_context(run=Result(), model={"dir": str(model_dir)}, docker=outputs)
    with pytest.raises(Exit, match="'NOEQUALS' is not KEY=VALUE") as raised:
        image.build(c, build_arg=["NOEQUALS"], ca_bundle="none")
    assert raised.value.code == 2
    assert not Path(outputs["build_record"]).exists()


def test_an_image_over_budget_is_reported_with_a_warning():
    info = docker.ImageInfo("x", "sha256:1", 512_000_000, {})
    assert build.size_report(info, 450) == "size 512 MB (budget 450 MB) — WARNING: over the size budget by 62 MB (docker.size_budget_mb)"


@pytest.mark.e2e
def test_lock_writes_both_locks_check_accepts_them_then_refuses_a_changed_hash(make_context, tmp_path):
    require_program("uv", "pip install -e '.[image]'")
    # The CI lock with the light extra only: the committed one's content is tests/image/test_lock.py's.
    paths = {"lock_file": str(tmp_path / "runtime.lock"), "ci_lock_file": str(tmp_path / "ci.lock"), "ci_lock_extras": ["ops"]}
    image.lock(make_context(docker=paths))
    runtime, ci = read_lock(Path(paths["lock_file"])), read_lock(Path(paths["ci_lock_file"]))
    assert "scikit-learn" in runtime and "invoke" not in runtime and {"invoke", "scikit-learn"} <= set(ci)
    image.lock(make_context(docker=paths), check=True)

    written = Path(paths["lock_file"]).read_text()
    Path(paths["lock_file"]).write_text(alter_hash(written, "blinker")[0])
    with pytest.raises(Exit, match="runtime.lock: not what `invoke lock` writes now; run `invoke lock` and commit") as raised:
        image.lock(make_context(docker=paths), check=True)
    assert raised.value.code == 1
    assert Path(paths["lock_file"]).read_text() != written  # --check never writes


def test_base_image_needs_a_running_engine(make_context, monkeypatch):
    monkeypatch.setattr(docker, "resolve_client", lambda configured: "/usr/bin/docker")
    # The engine holds debian:bookworm-slim as `invoke base-image` imports it: no registry digest, so the pin is bypassed.
    monkeypatch.setattr("prediris_ops.container.image.repo_digests", lambda client, ref: [] if ref == "debian:bookworm-slim" else None)
    monkeypatch.setattr(engine, "server_version", lambda client: None)
    with pytest.raises(Exit, match="no Docker engine answers") as raised:
        image.base_image(make_context())
    assert raised.value.code == 2
