"""Every prediris metric, declared in one place, named by the Prometheus conventions.

One prefix (`prediris_`), base units in names, `_total` on counters, and only bounded labels:
the route label is the URL rule template, never the raw path. The declarations live in one class
so tests can bind them to their own `CollectorRegistry`; the service uses `default_metrics()`.
"""

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, disable_created_metrics

from prediris_metrics.drift import FeatureBins, FeatureRowsCollector
from prediris_metrics.tallies import Family, RequestTallies

log = logging.getLogger("prediris")
# `_created` series double the exposition and no rule or dashboard of ours reads them.
disable_created_metrics()

UNMATCHED_ROUTE = "<unmatched>"
# The method label: these, else OTHER_METHOD, so a client cannot invent label values.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
OTHER_METHOD = "other"
# Predictions take well under 5 ms: start far below the client default of 5 ms.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000)
# Statuses whose series exist from the start on the known routes: rate() cannot see the first
# increment of a series born at 1, so without them the first refused, failed or shed request
# would be missing from the error ratios.
PREPARED_STATUSES = ("200", "400", "500", "503")


class PredirisMetrics:
    """The metric families of one registry, with pre-initialised known label values."""

    def __init__(self, registry: CollectorRegistry = REGISTRY):
        self.registry = registry
        # The series every request moves, tallied per thread (tallies.py): the client's own Counter and
        # Histogram took a quarter of a prediction's CPU.
        self.traffic = RequestTallies(
            requests=Family("prediris_http_requests_total", "HTTP requests answered, by method, route template and status code."),
            duration=Family(
                "prediris_http_request_duration_seconds",
                "Time from receiving a request to its response, by method and route template.",
                LATENCY_BUCKETS,
            ),
            predictions=Family("prediris_predictions_total", "Rows predicted, by predicted class: a first drift signal."),
            rows=Family("prediris_prediction_rows_per_request", "Rows in each successful prediction request.", ROW_BUCKETS),
        )
        registry.register(self.traffic)
        # Its value comes from the WSGI layer (prediris_api/serving/layer.py), which sets the function.
        self.in_flight = Gauge(
            "prediris_http_requests_in_flight",
            "Requests the replica is executing or has waiting for a thread (the scrape of /metrics excluded): what KEDA's rule scales on.",
            registry=registry,
        )
        self.invalid_requests = Counter(
            "prediris_invalid_requests_total",
            "Requests refused as invalid, by problem type.",
            ["reason"],
            registry=registry,
        )
        self.out_of_range = Counter(
            "prediris_out_of_range_features_total",
            "Feature values outside the training range (predicted, with a warning).",
            ["feature"],
            registry=registry,
        )
        self.shed_requests = Counter(
            "prediris_shed_requests_total",
            "Requests answered 503 without being served, by reason (overloaded, shutting-down); "
            "each is also in prediris_http_requests_total with status 503.",
            ["reason"],
            registry=registry,
        )
        # The API keys' refusals (prediris_api/auth.py): 401 answers, by reason (missing, invalid).
        self.auth_refusals = Counter(
            "prediris_auth_refusals_total",
            "Requests refused 401 for lack of a valid API key, by reason (missing, invalid).",
            ["reason"],
            registry=registry,
        )
        self.model_info = Gauge(
            "prediris_model_info",
            "The model being served (always 1); its labels identify it.",
            ["model_name", "model_version", "sklearn_version", "trained_with_sklearn"],
            registry=registry,
        )
        # Drift (docs/drift.md): rows per feature and reference bin, and the card's reference shares, so
        # one static rule computes each model's population stability index (observability/rules/drift.yml).
        self.feature_reference_share = Gauge(
            "prediris_feature_reference_share",
            "Share of the training split in each bin of a feature, from the model card: what traffic is compared with.",
            ["feature", "bin", "model_version"],
            registry=registry,
        )
        self.class_reference_share = Gauge(
            "prediris_class_reference_share",
            "Share of each class among the training labels, from the model card.",
            ["class_name", "model_version"],
            registry=registry,
        )
        # prediris_feature_rows_total{feature, bin, model_version}: the rows counted by the bins of the
        # served model, set by prepare_drift (None: a card without a reference, nothing counted).
        self.feature_bins: FeatureBins | None = None
        registry.register(FeatureRowsCollector(lambda: self.feature_bins))

    def prepare(
        self,
        class_names: Iterable[str],
        feature_names: Iterable[str],
        invalid_reasons: Iterable[str],
        shed_reasons: Iterable[str],
        routes: Iterable[tuple[str, str]],
    ) -> None:
        """Pre-initialise the label values we know, so every series exists from the first scrape."""
        self.traffic.prepare(((method, route, status) for method, route in routes for status in PREPARED_STATUSES), class_names)
        self.out_of_range_by_feature = {name: self.out_of_range.labels(name) for name in feature_names}
        for reason in invalid_reasons:
            self.invalid_requests.labels(reason)
        for reason in shed_reasons:
            self.shed_requests.labels(reason)

    def prepare_drift(self, model_version: str, reference: Mapping[str, Any] | None, enabled: bool = True) -> None:
        """Export the card's drift reference as gauges and count rows in its bins from now on (all at 0)."""
        for family in (self.feature_reference_share, self.class_reference_share):
            family.clear()
        self.feature_bins = None
        if not enabled:
            return
        if not reference:
            log.warning("the model card has no drift reference: drift is not measured; retrain with `invoke train` to add it")
            return
        for feature, bins in reference["features"].items():
            for label, share in zip(bins["bins"], bins["shares"], strict=True):
                self.feature_reference_share.labels(feature, label, model_version).set(share)
        for class_name, share in reference["classes"].items():
            self.class_reference_share.labels(class_name, model_version).set(share)
        self.feature_bins = FeatureBins.from_reference(model_version, reference)


_DEFAULT: list[PredirisMetrics] = []
_DEFAULT_LOCK = threading.Lock()


def default_metrics() -> PredirisMetrics:
    """Return the metrics bound to the global registry (with the process collector), created once."""
    with _DEFAULT_LOCK:
        if not _DEFAULT:
            _DEFAULT.append(PredirisMetrics(REGISTRY))
        return _DEFAULT[0]
