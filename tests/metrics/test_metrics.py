"""The metric declarations: conventional names, buckets that fit the workload, an exposition promtool accepts."""

import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from prediris_metrics import PredirisMetrics
from prediris_metrics.metrics import LATENCY_BUCKETS
from tests.support.tools import require_program


def families(metrics):
    return {family.name: family for family in metrics.registry.collect()}


def test_every_metric_has_the_prefix_help_and_a_conventional_name(metrics):
    declared = families(metrics)
    assert set(declared) == {
        "prediris_http_requests",
        "prediris_http_request_duration_seconds",
        "prediris_http_requests_in_flight",
        "prediris_predictions",
        "prediris_prediction_rows_per_request",
        "prediris_invalid_requests",
        "prediris_out_of_range_features",
        "prediris_shed_requests",
        "prediris_auth_refusals",
        "prediris_model_info",
        "prediris_feature_rows",
        "prediris_feature_reference_share",
        "prediris_class_reference_share",
    }
    for name, family in declared.items():
        assert family.documentation, name
        # The client drops `_total` from a counter family's name and adds it back on its samples.
        assert family.type != "counter" or all(sample.name == f"{name}_total" for sample in family.samples)


def test_labels_are_bounded_by_construction(metrics):
    metrics.traffic.record_request("GET", "/health/live", "200", 0.001)
    labelled = families(metrics)
    assert set(labelled["prediris_http_requests"].samples[0].labels) == {"method", "route", "status"}
    assert set(labelled["prediris_http_request_duration_seconds"].samples[0].labels) - {"le"} == {"method", "route"}


def test_latency_buckets_resolve_sub_millisecond_predictions_up_to_seconds():
    assert LATENCY_BUCKETS[0] <= 0.0001
    assert sum(bound < 0.005 for bound in LATENCY_BUCKETS) >= 4
    assert LATENCY_BUCKETS[-1] >= 5
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)


def test_two_registries_never_share_counts():
    first, second = PredirisMetrics(CollectorRegistry()), PredirisMetrics(CollectorRegistry())
    first.traffic.record_request("POST", "/predict", "200", 0.001)
    labels = {"method": "POST", "route": "/predict", "status": "200"}
    assert first.registry.get_sample_value("prediris_http_requests_total", labels) == 1
    assert second.registry.get_sample_value("prediris_http_requests_total", labels) is None


@pytest.mark.prometheus
def test_the_exposition_after_mixed_traffic_passes_promtool_check_metrics(client):
    promtool = require_program("promtool", "apt-get install prometheus")
    client.post("/predict", json={"X": [[5.1, 3.5, 1.4, 0.2], [9.5, 3.2, 4.7, 1.4]]})
    client.post("/predict", data=b"{", content_type="application/json")
    client.get("/nope")
    exposition = client.get("/metrics").data
    result = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode() + result.stderr.decode() == ""


@pytest.mark.prometheus
def test_the_default_registry_with_process_metrics_passes_promtool_check_metrics(metrics):
    promtool = require_program("promtool", "apt-get install prometheus")
    from prometheus_client import REGISTRY

    exposition = generate_latest(REGISTRY)
    assert b"process_resident_memory_bytes" in exposition
    result = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
