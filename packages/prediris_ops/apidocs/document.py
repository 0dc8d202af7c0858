"""The OpenAPI description without a running server or a trained model.

Feature and class names come from prediris_model, limits from the service's default Settings, so the
document equals what a default server answers at /openapi.json except for the model's version.
"""

from prediris_api.protocol.openapi import build_spec
from prediris_api.settings import Settings
from prediris_model import CLASS_NAMES, FEATURES

# Stands for the model's version (a digest prefix known only once a model is trained).
MODEL_VERSION = "unversioned"
# The two ends of what a deployment can describe: every component appears in one of them.
VARIANTS = {
    "keys-and-metrics-port": {"api_keys": True, "metrics_route": False},
    "open-with-metrics": {"api_keys": False, "metrics_route": True},
}


def describe(*, api_keys: bool, metrics_route: bool) -> dict:
    """Return the document of a default server with or without API keys and /metrics."""
    return build_spec(
        tuple(feature.name for feature in FEATURES),
        CLASS_NAMES,
        Settings().max_batch_rows,
        MODEL_VERSION,
        api_keys=api_keys,
        metrics_route=metrics_route,
    )
