"""The card's drift reference: decile bins of the training split, closed on the right, duplicates merged."""

import json
import shutil

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import prediris_model
from prediris_model import CLASS_NAMES, FEATURES
from prediris_model.dataset import load_dataset
from prediris_model.reference import bin_edges, bin_of, reference


def training_split():
    features, labels = load_dataset()
    x_train, _, y_train, _ = train_test_split(features, labels, test_size=0.25, stratify=labels, random_state=42)
    return x_train, y_train


def test_the_card_holds_bins_and_shares_for_every_feature_and_the_class_shares_of_the_training_split(trained):
    drift = trained.card["drift_reference"]
    assert drift["data"] == "training split"
    assert drift["rows"] == trained.card["training_data"]["train_rows"] == 112
    assert list(drift["features"]) == [feature.name for feature in FEATURES]
    for name, bins in drift["features"].items():
        assert len(bins["bins"]) == len(bins["shares"]) == len(bins["edges"]) + 1, name
        assert bins["bins"][-1] == "+Inf"
        assert sum(bins["shares"]) == pytest.approx(1, abs=1e-5), name
        assert min(bins["shares"]) > 0, f"{name}: every bin holds training rows"
    assert list(drift["classes"]) == list(CLASS_NAMES)
    assert sum(drift["classes"].values()) == pytest.approx(1, abs=1e-5)


def test_equal_deciles_merge_and_iris_keeps_eight_edges_on_two_features(trained):
    edges = {name: bins["edges"] for name, bins in trained.card["drift_reference"]["features"].items()}
    assert all(len(values) == len(set(values)) and values == sorted(values) for values in edges.values())
    assert sorted(len(values) for values in edges.values()) == [8, 8, 9, 9]
    assert bin_edges(np.array([1.0] * 9 + [2.0])) == [1.0]
    assert bin_edges(np.array([1.0] * 10)) == []  # no edge below the maximum: one bin holds every value


def test_a_value_on_an_edge_falls_in_the_bin_it_closes_and_outside_values_in_the_open_ends():
    edges = [1.4, 1.5, 1.6]
    assert bin_of(edges, np.array([-5.0, 1.4, 1.41, 1.5, 1.6, 1.61, 99.0])).tolist() == [0, 0, 1, 1, 2, 3, 3]


def test_the_shares_are_the_training_splits_own_counts():
    x_train, y_train = training_split()
    drift = reference(x_train, y_train, [feature.name for feature in FEATURES], list(CLASS_NAMES))
    for column, bins in enumerate(drift["features"].values()):
        counts = np.bincount(bin_of(bins["edges"], x_train[:, column]), minlength=len(bins["shares"]))
        assert np.allclose(counts / len(x_train), bins["shares"], atol=1e-6)


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda drift: drift["features"]["petal_length"]["shares"].pop(), "the bins of petal_length are not"),
        (lambda drift: drift["features"]["sepal_width"]["edges"].reverse(), "the bins of sepal_width are not"),
        (lambda drift: drift["features"].pop("petal_width"), "its features are not the card's"),
        (lambda drift: drift.pop("classes"), "KeyError"),
    ],
    ids=["a-share-missing", "edges-unsorted", "a-feature-missing", "no-classes"],
)
def test_a_card_with_an_unusable_drift_reference_is_refused_with_the_fix(model_dir, tmp_path, break_it, message):

    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    card_path = broken / prediris_model.CARD_FILE
    card = json.loads(card_path.read_text())
    break_it(card["drift_reference"])
    card_path.write_text(json.dumps(card))
    with pytest.raises(prediris_model.ModelIntegrityError, match=rf"unusable drift_reference \({message}.*run `invoke train`"):
        prediris_model.load(broken)
