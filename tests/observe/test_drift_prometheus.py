"""Drift on real traffic: two real APIs scraped by the real Prometheus, loading the project's drift
rules (with a short window). Traffic sampled from the Iris data keeps every PSI under 0.1; the same
traffic with petal length × 1.5 raises that feature's PSI over 0.2, leaves the others under 0.1,
and fires PredirisFeatureDrift for it alone."""

import json
import subprocess
import time
import urllib.request
from contextlib import ExitStack

import numpy as np
import pytest
import yaml

from prediris_model.dataset import load_dataset
from prediris_ops.core.localapi import local_api
from prediris_ops.core.processes import wait_http
from prediris_ops.observe import prometheus_api, rulefiles, stack
from tests.support.polling import wait_for
from tests.support.tools import free_port, require_program

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

ROWS, BATCH = 2000, 100
JOBS = {"prediris": 1.0, "prediris-shifted": 1.5}  # job -> factor applied to petal length
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def send(base_url: str, rows: np.ndarray) -> None:
    for start in range(0, len(rows), BATCH):
        body = json.dumps({"X": rows[start : start + BATCH].tolist()}).encode()
        request = urllib.request.Request(base_url + "/predict", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


def by_job(prometheus: str, expr: str) -> dict[tuple[str, ...], float]:
    return {
        (item["metric"]["job"], item["metric"].get("feature", "")): float(item["value"][1])
        for item in prometheus_api.query(prometheus, expr)
    }


@pytest.fixture(scope="module")
def drift_stack(model_dir, tmp_path_factory):
    """Both APIs and a Prometheus scraping each under its own job every second, with 2-minute drift rules."""
    program = require_program("prometheus", "apt-get install prometheus")
    folder = tmp_path_factory.mktemp("drift")
    rules = folder / "drift.yml"
    rules.write_text(rulefiles.drift_rules_text(window="2m", for_="0s"))
    with ExitStack() as stack_:
        apis = {
            job: stack_.enter_context(local_api(model_dir, folder / f"{job}.log", name=job, settings={"shutdown_grace_seconds": 1}))
            for job in JOBS
        }
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [api.base_url.removeprefix("http://")]}]} for job, api in apis.items()
            ],
        }
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        argv = stack.prometheus_argv(
            program, config_path=folder / "prometheus.yml", data_dir=folder / "data", host="127.0.0.1", port=port, retention="1h"
        )
        with open(folder / "prometheus.log", "wb") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        stack_.callback(process.wait, 30)
        stack_.callback(process.terminate)
        prometheus = f"http://127.0.0.1:{port}"
        wait_http(f"{prometheus}/-/ready", 60, process=process)
        # The counters' zeros must be stored before any row is sent, or the window sees no increase.
        wait_for(
            lambda: len(by_job(prometheus, 'count by (job) (prediris_feature_rows_total{feature="petal_length"})')) == len(JOBS),
            30,
            "a first scrape of both APIs",
        )
        features, _ = load_dataset()
        sample = features[np.random.default_rng(20).integers(0, len(features), ROWS)]
        for job, factor in JOBS.items():
            send(apis[job].base_url, sample * np.array([1.0, 1.0, factor, 1.0]))
        sent_at = time.time()
        # PSI evaluated after a scrape that followed the last request: it holds every row.
        wait_for(
            lambda: (
                min(by_job(prometheus, "timestamp(prediris:feature_drift_psi)").values() or [0]) > sent_at + 1.1
                and len(by_job(prometheus, "prediris:feature_drift_psi")) == len(JOBS) * len(FEATURES)
            ),
            60,
            "the drift score of every feature, evaluated after the traffic",
        )
        yield prometheus


def test_training_like_traffic_keeps_every_feature_and_the_classes_under_0_1(drift_stack):
    psi = by_job(drift_stack, 'prediris:feature_drift_psi{job="prediris"}')
    assert sorted(feature for _, feature in psi) == sorted(FEATURES)
    assert all(value < 0.1 for value in psi.values()), psi
    assert by_job(drift_stack, 'prediris:class_drift_psi{job="prediris"}')[("prediris", "")] < 0.1
    rows = by_job(drift_stack, 'job_version_feature:prediris_feature_rows:increase2m{job="prediris"}')
    assert all(value >= ROWS for value in rows.values()), rows  # every row of every batch (increase() extrapolates a little)


def test_petal_length_times_1_5_rises_over_0_2_alone_and_fires_the_alert_for_it_alone(drift_stack):
    psi = by_job(drift_stack, 'prediris:feature_drift_psi{job="prediris-shifted"}')
    assert psi.pop(("prediris-shifted", "petal_length")) > 0.2
    assert all(value < 0.1 for value in psi.values()), psi
    firing = wait_for(
        lambda: by_job(drift_stack, 'ALERTS{alertname="PredirisFeatureDrift", alertstate="firing"}'), 30, "the drift alert to fire"
    )
    assert list(firing) == [("prediris-shifted", "petal_length")]
