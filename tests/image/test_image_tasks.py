"""`invoke build`, `invoke lock` and `invoke base-image`: their exact commands and what they print."""

import json
import shlex
from pathlib import Path

import pytest
from invoke import Result
from invoke.exceptions import Exit

from prediris_model import load
from prediris_ops.checks.lint import LINTERS
from prediris_ops.container import build, docker, engine
from prediris_ops.container.image import MODEL_LIBRARIES, image_tags
from prediris_ops.container.lock import Pin, lock_text, read_hashes_text, read_lock_text, render
from prediris_ops.core.paths import ROOT
from prediris_ops.tasks import image
from tests.support.tamper import alter_hash

LABELS = {"OCI_CREATED": "2026-01-02T03:04:05Z", "OCI_REVISION": "abc", "OCI_SOURCE": "https://example.org/p", "OCI_VERSION": "0.1.0"}
HADOLINT = shlex.join(next(linter for linter in LINTERS if linter.name == "hadolint").argv(ROOT))


@pytest.fixture
def offline(monkeypatch):
    """No real docker: a fixed client, fixed labels, and an image the engine 'reports' as 400 MB."""
    monkeypatch.setattr(docker, "resolve_client", lambda configured: "/usr/bin/docker")
    # The engine holds debian:bookworm-slim as `invoke base-image` imports it: no registry digest, so the pin is bypassed.
    monkeypatch.setattr("prediris_ops.container.image.repo_digests", lambda client, ref: [] if ref == "debian:bookworm-slim" else None)
    monkeypatch.setattr(build, "label_args", lambda root, source: dict(LABELS))
    info = docker.ImageInfo("efreiprediris:latest", "sha256:feed", 400_000_000, {})
    monkeypatch.setattr(docker, "inspect_image", lambda client, reference: info)
    layers = [(0, "CMD"), (276_000_000, "COPY /opt/venv /opt/venv"), (74_900_000, ""), (44_000_000, "RUN apt-get install python3")]
    monkeypatch.setattr(docker, "history", lambda client, reference: layers)
    sboms = []

    def write_sbom(client, reference, output):
        sboms.append((reference, output))
        return [("flask", "3.1.3")]

    monkeypatch.setattr(image, "write_sbom", write_sbom)
    return sboms


@pytest.fixture
def outputs(tmp_path):
    """Where the build record and the SBOM go in these tests (never the project's build/)."""
    return {"build_record": str(tmp_path / "image" / "build.json"), "sbom": str(tmp_path / "image" / "sbom.cdx.json")}


@pytest.fixture
def matching_lock(model_dir, tmp_path):
    """A lock pinning the model libraries at the versions the session's model was trained with."""
    versions = load(model_dir).card["versions"]
    path = tmp_path / "runtime.lock"
    path.write_text(render({name: Pin(name, versions[name], {"prediris"}) for name in MODEL_LIBRARIES}))
    return path


def build_command(tags, *extra_args, sha256=None, secret=None):
    args = {
        "BASE_IMAGE": "debian:bookworm-slim",
        "MODEL_CV_FOLDS": "5",
        "MODEL_MIN_ACCURACY": "0.9",
        "MODEL_SEED": "42",
        "MODEL_TEST_SIZE": "0.25",
        **LABELS,
    }
    if sha256:
        args["MODEL_SHA256"] = sha256
    argv = ["/usr/bin/docker", "build", "--progress", "auto", "--file", str(ROOT / "Dockerfile")]
    for tag in tags:
        argv += ["--tag", tag]
    for key, value in sorted({**args, **dict(pair.split("=", 1) for pair in extra_args)}.items()):
        argv += ["--build-arg", f"{key}={value}"]
    if secret:
        argv += ["--secret", f"id=ca_bundle,src={secret}"]
    return shlex.join([*argv, str(ROOT)])


def test_build_lints_then_builds_with_buildkit_pinning_the_local_model(
    make_context, offline, outputs, model_dir, matching_lock, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "efrei/prediris")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    bundle = tmp_path / "corp.pem"
    bundle.write_text("pem")
    tags = image_tags("efreiprediris", ROOT)
    command = build_command(tags, sha256=load(model_dir).sha256, secret=bundle)
    c = make_context(
        run={HADOLINT: Result(), command: Result()}, model={"dir": str(model_dir)}, docker={"lock_file": str(matching_lock), **outputs}
    )
    image.build(c, ca_bundle=str(bundle))
    calls = [call.args[0] for call in c.run.call_args_list]
    assert calls == [HADOLINT, command]
    assert c.run.call_args_list[1].kwargs["env"] == {"DOCKER_BUILDKIT": "1"}
    out = capsys.readouterr().out
    assert f"built {', '.join(tags)}" in out
    assert "id sha256:feed" in out
    assert "size 400 MB (budget 450 MB), largest layers:\n      276 MB  COPY /opt/venv /opt/venv\n       75 MB  the base image\n" in out
    assert "model: pinned" in out
    # The SBOM describes the image just built; the record names it, its commit and the CI run.
    assert offline == [(tags[0], Path(outputs["sbom"]))]
    record = json.loads(Path(outputs["build_record"]).read_text())
    assert record["image_id"] == "sha256:feed" and record["tags"] == tags and record["revision"] == "abc"
    assert record["ci_run"]["url"] == "https://github.com/efrei/prediris/actions/runs/42"
    assert record["sbom"] == outputs["sbom"]
    assert "built by https://github.com/efrei/prediris/actions/runs/42" in out


def test_build_arguments_from_flags_and_configuration_reach_docker_unpinned_without_a_matching_lock(
    make_context, offline, outputs, model_dir, tmp_path, capsys
):
    command = build_command(image_tags("efreiprediris", ROOT), "EXTRA=1", "FROM_CONFIG=yes")
    c = make_context(
        run={HADOLINT: Result(), command: Result()},
        model={"dir": str(model_dir)},
        docker={"lock_file": str(tmp_path / "no.lock"), "build_args": {"FROM_CONFIG": "yes"}, **outputs},
    )
    image.build(c, build_arg=["EXTRA=1"], ca_bundle="none")
    assert c.run.call_args_list[1].args[0] == command
    assert "model: not pinned: the local model was trained with scikit-learn" in capsys.readouterr().out


def test_a_build_that_fails_stops_with_its_status(make_context, offline, outputs, model_dir, tmp_path):
    command = build_command(image_tags("efreiprediris", ROOT))
    c = make_context(
        run={HADOLINT: Result(), command: Result(exited=17)}, model={"dir": str(model_dir)}, docker={"lock_file": str(tmp_path / "no.lock")}
    )
    with pytest.raises(Exit, match="failed with status 17") as raised:
        image.build(c, ca_bundle="none")
    assert raised.value.code == 17


def test_a_malformed_build_arg_is_refused_before_anything_runs(make_context, offline, model_dir):
    c = make_context(run={HADOLINT: Result()}, model={"dir": str(model_dir)})
    with pytest.raises(Exit, match="'NOEQUALS' is not KEY=VALUE"):
        image.build(c, build_arg=["NOEQUALS"], ca_bundle="none")


def test_an_image_over_budget_is_reported_with_a_warning():
    info = docker.ImageInfo("x", "sha256:1", 512_000_000, {})
    assert docker.ImageInfo("x", "sha256:1", 300_000_000, {}).size_mb == 300
    assert build.size_report(info, 450) == "size 512 MB (budget 450 MB) — WARNING: over the size budget by 62 MB (docker.size_budget_mb)"


def test_lock_writes_the_installed_versions_with_their_hashes_and_check_accepts_it(make_context, tmp_path, capsys):
    path = tmp_path / "runtime.lock"
    image.lock(make_context(docker={"lock_file": str(path)}))
    assert read_lock_text(path.read_text()) == read_lock_text(lock_text(hashes=False))
    assert all(len(digests) == 1 for digests in read_hashes_text(path.read_text()).values())
    assert "distributions pinned with their hashes" in capsys.readouterr().out
    image.lock(make_context(docker={"lock_file": str(path)}), check=True)
    assert "matches the installed versions and their wheels' hashes" in capsys.readouterr().out


def test_lock_check_fails_when_a_hash_differs(make_context, tmp_path):
    path = tmp_path / "runtime.lock"
    path.write_text(alter_hash((ROOT / "requirements" / "runtime.lock").read_text(), "blinker")[0])
    with pytest.raises(Exit, match="differs from the installed versions or their hashes"):
        image.lock(make_context(docker={"lock_file": str(path)}), check=True)


def test_lock_check_fails_with_the_fix_when_the_lock_is_stale(make_context, tmp_path):
    path = tmp_path / "runtime.lock"
    path.write_text("flask==0.1\n")
    with pytest.raises(Exit, match="run `invoke lock` and commit it") as raised:
        image.lock(make_context(docker={"lock_file": str(path)}), check=True)
    assert raised.value.code == 1
    assert path.read_text() == "flask==0.1\n"


def test_base_image_needs_a_running_engine(make_context, monkeypatch):
    monkeypatch.setattr(docker, "resolve_client", lambda configured: "/usr/bin/docker")
    # The engine holds debian:bookworm-slim as `invoke base-image` imports it: no registry digest, so the pin is bypassed.
    monkeypatch.setattr("prediris_ops.container.image.repo_digests", lambda client, ref: [] if ref == "debian:bookworm-slim" else None)
    monkeypatch.setattr(engine, "server_version", lambda client: None)
    with pytest.raises(Exit, match="no Docker engine answers"):
        image.base_image(make_context())
