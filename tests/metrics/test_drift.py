"""Drift counting: every predicted row lands in its reference bin per feature, labelled by model version,
next to the card's reference shares."""

import json
import shutil

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from prediris_api import create_app
from prediris_metrics import PredirisMetrics
from prediris_metrics.drift import FLUSH_ROWS
from prediris_model import FEATURES
from tests.model.test_reference import training_split

SETOSA = [5.1, 3.5, 1.4, 0.2]


def rows_in(metrics, version, feature, bin_label):
    return metrics.registry.get_sample_value(
        "prediris_feature_rows_total", {"feature": feature, "bin": bin_label, "model_version": version}
    )


def feature_counts(metrics, version, reference):
    return {name: [rows_in(metrics, version, name, label) for label in bins["bins"]] for name, bins in reference["features"].items()}


def test_the_service_exports_the_cards_reference_shares_and_every_bin_from_the_start(app, metrics, loaded):
    version, reference = loaded.version, loaded.card["drift_reference"]
    for name, bins in reference["features"].items():
        for label, share in zip(bins["bins"], bins["shares"], strict=True):
            labels = {"feature": name, "bin": label, "model_version": version}
            assert metrics.registry.get_sample_value("prediris_feature_reference_share", labels) == share
            assert metrics.registry.get_sample_value("prediris_feature_rows_total", labels) == 0
    for name, share in reference["classes"].items():
        assert metrics.registry.get_sample_value("prediris_class_reference_share", {"class_name": name, "model_version": version}) == share


def test_the_training_split_sent_as_a_batch_is_counted_back_into_the_cards_shares(client, metrics, loaded):
    x_train, _ = training_split()
    assert client.post("/predict", json={"X": x_train.tolist()}).status_code == 200
    reference = loaded.card["drift_reference"]
    for name, counts in feature_counts(metrics, loaded.version, reference).items():
        assert sum(counts) == len(x_train), name
        assert np.allclose(np.array(counts) / len(x_train), reference["features"][name]["shares"], atol=1e-6), name


def test_single_rows_and_batches_count_the_same_bins_and_v2_counts_too(client, metrics, loaded):
    reference = loaded.card["drift_reference"]
    # Values on the edges, below the first and above the last: the bins' closing and open ends.
    edges = [bins["edges"] for bins in reference["features"].values()]
    rows = [[feature_edges[0] for feature_edges in edges], [feature_edges[-1] + 0.05 for feature_edges in edges], [0.1, 0.1, 0.1, 0.1]]
    for row in rows:
        assert client.post("/predict", json={"X": row}).status_code == 200
    single = feature_counts(metrics, loaded.version, reference)
    assert client.post("/predict", json={"X": rows}).status_code == 200
    doubled = feature_counts(metrics, loaded.version, reference)
    assert doubled == {name: [2 * count for count in counts] for name, counts in single.items()}
    assert all(counts[0] == 2 and counts[-1] == 1 for counts in single.values())
    infer = {"inputs": [{"name": "X", "shape": [1, 4], "datatype": "FP64", "data": SETOSA}]}
    assert client.post("/v2/models/iris-knn/infer", json=infer).status_code == 200
    after_v2 = feature_counts(metrics, loaded.version, reference)
    assert sum(after_v2["petal_length"]) == sum(doubled["petal_length"]) + 1


def test_a_refused_request_counts_no_row(client, metrics, loaded):
    assert client.post("/predict", json={"X": [5.1, 3.5]}).status_code == 400
    assert all(sum(counts) == 0 for counts in feature_counts(metrics, loaded.version, loaded.card["drift_reference"]).values())


def test_a_card_without_a_drift_reference_serves_and_counts_no_bins(model_dir, tmp_path, caplog):

    old = tmp_path / "old"
    shutil.copytree(model_dir, old)
    card_path = old / "iris-knn.json"
    card = json.loads(card_path.read_text())
    del card["drift_reference"]
    card_path.write_text(json.dumps(card))
    metrics = PredirisMetrics(CollectorRegistry())
    client = create_app({"model_dir": str(old), "metrics": metrics, "TESTING": True}).test_client()
    assert client.post("/predict", json={"X": SETOSA}).status_code == 200
    assert "retrain with `invoke train`" in caplog.text
    names = {sample.name for family in metrics.registry.collect() for sample in family.samples}
    assert not names & {"prediris_feature_rows_total", "prediris_feature_reference_share"}


@pytest.mark.parametrize("n_rows", [1, 7, 100])
def test_counting_is_the_same_as_binning_each_value_alone(metrics, loaded, n_rows):
    metrics.prepare_drift(loaded.version, loaded.card["drift_reference"])
    rows = np.random.default_rng(n_rows).uniform(0, 8, size=(n_rows, len(FEATURES)))
    metrics.feature_bins.count(rows)
    for column, (name, bins) in enumerate(loaded.card["drift_reference"]["features"].items()):
        expected = np.bincount(np.searchsorted(bins["edges"], rows[:, column], side="left"), minlength=len(bins["bins"]))
        assert [rows_in(metrics, loaded.version, name, label) for label in bins["bins"]] == expected.tolist(), name


def test_drift_metrics_off_counts_nothing_and_exports_no_reference(model_dir):
    metrics = PredirisMetrics(CollectorRegistry())
    client = create_app({"model_dir": str(model_dir), "metrics": metrics, "drift_metrics": False, "TESTING": True}).test_client()
    assert client.post("/predict", json={"X": [SETOSA, SETOSA]}).status_code == 200
    names = {sample.name for family in metrics.registry.collect() for sample in family.samples}
    assert not names & {"prediris_feature_rows_total", "prediris_feature_reference_share", "prediris_class_reference_share"}


def test_rows_binned_in_bulk_and_rows_still_pending_are_all_in_the_scraped_counts(metrics, loaded):
    metrics.prepare_drift(loaded.version, loaded.card["drift_reference"])
    rows = np.random.default_rng(7).uniform(0, 8, size=(FLUSH_ROWS + 5, len(FEATURES)))
    for row in rows:  # one-row requests: the first FLUSH_ROWS are binned on the way, the last 5 at the scrape
        metrics.feature_bins.count(row[None, :])
    bins = loaded.card["drift_reference"]["features"]["sepal_width"]
    expected = np.bincount(np.searchsorted(bins["edges"], rows[:, 1], side="left"), minlength=len(bins["bins"]))
    assert [rows_in(metrics, loaded.version, "sepal_width", label) for label in bins["bins"]] == expected.tolist()
