"""The KEDA ScaledObject's prometheus trigger, read from deploy/kubernetes/base/scaledobject.yaml:
the one query the cluster scales on, which local runs evaluate against the local Prometheus."""

from pathlib import Path

import yaml

from prediris_ops.kubernetes.errors import KubernetesError
from prediris_ops.kubernetes.layer import BASE_DIR

SCALED_OBJECT = BASE_DIR / "scaledobject.yaml"


def trigger_query(path: Path = SCALED_OBJECT) -> str:
    """Return the PromQL query of the ScaledObject's prometheus trigger."""
    scaled_object = yaml.safe_load(path.read_text())
    queries = [item["metadata"]["query"] for item in scaled_object["spec"]["triggers"] if item["type"] == "prometheus"]
    if len(queries) != 1:
        raise KubernetesError(f"{path} has {len(queries)} prometheus triggers, expected 1")
    return " ".join(queries[0].split())
