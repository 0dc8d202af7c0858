"""Saving and loading: joblib + card, SHA-256 verified before unpickling, clear refusals."""

import json
import logging
import shutil

import pytest

import prediris_model
from prediris_model import CARD_FILE, MODEL_FILE, ModelIntegrityError, ModelNotFound
from prediris_model.artifact import sha256_of


@pytest.fixture
def copy_dir(model_dir, tmp_path):
    target = tmp_path / "models"
    shutil.copytree(model_dir, target)
    return target


def test_save_writes_the_joblib_file_and_a_card_with_its_digest(model_dir):
    card = json.loads((model_dir / CARD_FILE).read_text())
    assert card["file"] == MODEL_FILE
    assert card["sha256"] == sha256_of(model_dir / MODEL_FILE)
    assert card["version"] == card["sha256"][:12]


def test_load_returns_the_verified_estimator(model_dir):
    loaded = prediris_model.load(model_dir)
    assert loaded.version == loaded.card["sha256"][:12]
    assert list(loaded.estimator.predict([[5.1, 3.5, 1.4, 0.2]])) == [0]
    assert loaded.warnings == []


def test_a_tampered_file_is_refused_before_unpickling(copy_dir, monkeypatch):
    with open(copy_dir / MODEL_FILE, "ab") as handle:
        handle.write(b"tampered")
    unpickled = []
    monkeypatch.setattr(prediris_model.artifact.joblib, "load", lambda *args: unpickled.append(args))
    with pytest.raises(ModelIntegrityError, match=r"iris-knn\.joblib does not match its card .* refusing to unpickle it .* `invoke train`"):
        prediris_model.load(copy_dir)
    assert unpickled == []


def test_a_pinned_digest_that_differs_is_refused(model_dir):
    with pytest.raises(ModelIntegrityError, match="PREDIRIS_MODEL_SHA256 pins"):
        prediris_model.load(model_dir, expected_sha256="0" * 64)


def test_a_missing_model_says_to_run_invoke_train(tmp_path):
    with pytest.raises(ModelNotFound, match="run `invoke train`"):
        prediris_model.load(tmp_path)


def test_a_missing_model_file_next_to_its_card_says_to_run_invoke_train(copy_dir):
    (copy_dir / MODEL_FILE).unlink()
    with pytest.raises(ModelNotFound, match="no model file .* run `invoke train`"):
        prediris_model.load(copy_dir)


def test_an_unreadable_card_is_an_integrity_error(copy_dir):
    (copy_dir / CARD_FILE).write_text("{")
    with pytest.raises(ModelIntegrityError, match="cannot read model card"):
        prediris_model.load(copy_dir)


def test_a_different_scikit_learn_version_is_reported(copy_dir, caplog):
    card = json.loads((copy_dir / CARD_FILE).read_text())
    card["versions"]["scikit-learn"] = "0.0.1"
    (copy_dir / CARD_FILE).write_text(json.dumps(card))
    with caplog.at_level(logging.WARNING):
        loaded = prediris_model.load(copy_dir)
    assert any("trained with scikit-learn 0.0.1" in note for note in loaded.warnings)
    assert "trained with scikit-learn 0.0.1" in caplog.text
