"""prediris_ops.container.image: the tags, OCI labels, training arguments and model pin a build is given."""

import subprocess
from datetime import UTC, datetime

import pytest

from prediris_model import load
from prediris_ops.container import image


@pytest.fixture
def repo(tmp_path):
    """A git checkout with one commit."""

    def git(*args):
        subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org", *args], check=True, capture_output=True
        )

    git("init", "--quiet")
    (tmp_path / "README.md").write_text("x\n")
    git("add", "README.md")
    git("commit", "--quiet", "-m", "first")
    return tmp_path


def test_a_checkout_is_tagged_with_its_short_sha_and_latest(repo):
    short = image.git(repo, "rev-parse", "--short", "HEAD")
    assert image.image_tags("efreiprediris", repo) == [f"efreiprediris:{short}", "efreiprediris:latest"]


def test_outside_a_checkout_only_latest_is_tagged(tmp_path):
    assert image.image_tags("efreiprediris", tmp_path) == ["efreiprediris:latest"]


def test_labels_name_the_revision_and_say_when_the_tree_was_modified(repo):
    now = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    clean = image.label_args(repo, "https://example.org/prediris", now)
    (repo / "README.md").write_text("changed\n")
    dirty = image.label_args(repo, None, now)
    assert clean["OCI_REVISION"] == image.git(repo, "rev-parse", "HEAD")
    assert clean["OCI_SOURCE"] == "https://example.org/prediris"
    assert clean["OCI_CREATED"] == "2026-01-02T03:04:05Z"
    assert dirty["OCI_REVISION"] == clean["OCI_REVISION"] + "-dirty"
    assert dirty["OCI_SOURCE"] == "unknown"  # no docker.source and no `origin` remote


@pytest.mark.parametrize(
    ("origin", "source"),
    [
        ("https://gitlab-ci-token:glcbt-64_s3cr3t@gitlab.com/efrei/prediris.git", "https://gitlab.com/efrei/prediris.git"),
        ("https://x-access-token:ghs_s3cr3t@github.com:443/efrei/prediris", "https://github.com:443/efrei/prediris"),
        ("https://build@dev.azure.com/efrei/prediris/_git/prediris", "https://dev.azure.com/efrei/prediris/_git/prediris"),
        ("git@github.com:efrei/prediris.git", "git@github.com:efrei/prediris.git"),  # scp-like: a user name, no secret
    ],
)
def test_the_source_label_never_carries_the_clone_urls_credentials(repo, origin, source):
    # GitLab clones with https://gitlab-ci-token:<CI_JOB_TOKEN>@…: the token must not land in the image's labels.
    subprocess.run(["git", "-C", str(repo), "remote", "add", "origin", origin], check=True)
    assert image.label_args(repo)["OCI_SOURCE"] == source
    assert image.label_args(repo, origin)["OCI_SOURCE"] == source


def test_training_args_come_from_the_model_section():
    model = {"seed": 7, "test_size": 0.3, "cv_folds": 4, "min_accuracy": 0.8}
    assert image.training_args(model) == {"MODEL_SEED": "7", "MODEL_TEST_SIZE": "0.3", "MODEL_CV_FOLDS": "4", "MODEL_MIN_ACCURACY": "0.8"}


def write_lock(path, versions):
    path.write_text("".join(f"{name}=={version}\n" for name, version in versions.items()))
    return path


def test_the_local_model_is_pinned_when_trained_with_the_locked_versions(model_dir, tmp_path):
    versions = load(model_dir).card["versions"]
    lock = write_lock(tmp_path / "runtime.lock", {name: versions[name] for name in image.MODEL_LIBRARIES})
    digest, why = image.model_pin(model_dir, lock)
    assert digest == load(model_dir).sha256
    assert "byte-identical" in why


def test_a_model_trained_with_other_versions_is_not_pinned_and_the_reason_names_them(model_dir, tmp_path):
    versions = load(model_dir).card["versions"]
    lock = write_lock(tmp_path / "runtime.lock", {**{name: versions[name] for name in image.MODEL_LIBRARIES}, "scikit-learn": "0.1.0"})
    digest, why = image.model_pin(model_dir, lock)
    assert digest is None
    assert f"scikit-learn {versions['scikit-learn']} (lock: 0.1.0)" in why


def test_without_a_local_model_nothing_is_pinned(tmp_path):
    digest, why = image.model_pin(tmp_path, tmp_path / "runtime.lock")
    assert digest is None
    assert "invoke train" in why
