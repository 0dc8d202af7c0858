"""Training: reproducible, cross-validated, evaluated on held-out data, gated on accuracy."""

import numpy as np
import pytest

import prediris_model
from prediris_model import CLASS_NAMES, FEATURES, QualityGateFailed, TrainingConfig
from prediris_model.dataset import load_dataset


def test_training_picks_k_and_weighting_by_cross_validation(trained):
    params = trained.card["hyperparameters"]
    selection = trained.card["selection"]
    assert params["n_neighbors"] in selection["search_space"]["n_neighbors"]
    assert params["weights"] in selection["search_space"]["weights"]
    assert selection["cv_folds"] == 5
    assert 0.9 <= selection["cv_accuracy"] <= 1.0


def test_test_metrics_cover_accuracy_per_class_scores_and_the_confusion_matrix(trained):
    test = trained.card["metrics"]["test"]
    assert test["accuracy"] >= 0.9
    assert set(test["per_class"]) == set(CLASS_NAMES)
    matrix = np.array(test["confusion_matrix"]["matrix"])
    assert matrix.shape == (3, 3)
    assert matrix.sum() == trained.card["training_data"]["test_rows"] == 38
    assert np.trace(matrix) / matrix.sum() == pytest.approx(test["accuracy"], abs=1e-6)


def test_the_split_is_stratified_and_held_out(trained):
    data = trained.card["training_data"]
    assert data["train_rows"] + data["test_rows"] == data["rows"] == 150
    assert data["split"] == {"test_size": 0.25, "stratified": True, "seed": 42}


def test_training_twice_gives_the_same_predictions_and_the_same_artifact(trained, tmp_path):
    again = prediris_model.train()
    features, _ = load_dataset()
    assert np.array_equal(trained.estimator.predict_proba(features), again.estimator.predict_proba(features))
    first = prediris_model.save(trained, tmp_path / "a")
    second = prediris_model.save(again, tmp_path / "b")
    assert prediris_model.artifact.read_card(first.parent)["sha256"] == prediris_model.artifact.read_card(second.parent)["sha256"]


def test_the_quality_gate_refuses_a_model_below_the_threshold():
    with pytest.raises(QualityGateFailed, match=r"test accuracy 0\.97\d* is below the quality gate 0\.99"):
        prediris_model.train(TrainingConfig(min_accuracy=0.99))


def test_the_card_describes_features_classes_versions_and_data(trained):
    card = trained.card
    assert [feature["name"] for feature in card["features"]] == [feature.name for feature in FEATURES]
    assert all(feature["unit"] == "cm" and feature["training_min"] < feature["training_max"] for feature in card["features"])
    assert card["classes"] == list(CLASS_NAMES)
    assert set(card["versions"]) == {"python", "scikit-learn", "joblib", "numpy"}
    assert len(card["training_data"]["sha256"]) == 64
    assert card["created_at"].endswith("+00:00")
