"""The generated kustomize layer: invoke.yaml's settings and the image digest over an overlay.

deploy/kubernetes/ holds the manifests with invoke.yaml's defaults; `write_layer` writes
build/kubernetes/<overlay>/kustomization.yaml, which takes the overlay as its resource and sets the
image by digest (`images:`), CPU and memory (requests = limits), the API and metrics ports, the
drain timing (core/drain_timing.py), the API keys' Secret reference and the KEDA trigger (threshold, replica bounds,
Prometheus address). The same settings build the Container App, so the two platforms cannot disagree.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from prediris_ops.core.drain_timing import DrainTiming
from prediris_ops.core.paths import ROOT
from prediris_ops.kubernetes.errors import KubernetesError, SetupError

KUSTOMIZE_DIR = ROOT / "deploy" / "kubernetes"
OVERLAYS_DIR = KUSTOMIZE_DIR / "overlays"
BASE_DIR = KUSTOMIZE_DIR / "base"
# The name the base's manifests give the image; `images:` replaces it by <registry>/<image>@<digest>.
IMAGE_NAME = "efreiprediris"
APP = "prediris"
# The optional Secret the pods read PREDIRIS_API_KEYS from (docs/security.md); no key is in the repository.
API_KEYS_SECRET = "prediris-api-keys"  # noqa: S105 (the Secret's name, not a value)
API_KEYS_SECRET_KEY = "keys"  # noqa: S105 (the key's name in the Secret)


@dataclass(frozen=True)
class Workload:
    """What one replica is and how many run: the settings Container Apps and Kubernetes share."""

    cpu: float
    memory: str
    port: int
    metrics_port: int
    min_replicas: int
    max_replicas: int
    concurrency_target: int
    drain: DrainTiming
    prometheus_address: str

    @property
    def cpu_quantity(self) -> str:
        """Return the vCPU as a Kubernetes quantity in millicores (0.5 → 500m)."""
        return f"{round(self.cpu * 1000)}m"


def overlay_dir(overlay: str) -> Path:
    """Return deploy/kubernetes/overlays/<overlay>, or say which overlays exist."""
    path = OVERLAYS_DIR / overlay
    if not (path / "kustomization.yaml").is_file():
        known = ", ".join(sorted(item.name for item in OVERLAYS_DIR.iterdir() if (item / "kustomization.yaml").is_file()))
        raise SetupError(f"no kustomize overlay {overlay!r} in {OVERLAYS_DIR.relative_to(ROOT)}: use one of {known}")
    return path


def split_reference(reference: str) -> tuple[str, str]:
    """Split <registry>/<image>@sha256:<hex> into the image name and the digest."""
    name, at, digest = reference.partition("@")
    if not at or not digest.startswith("sha256:"):
        raise KubernetesError(f"{reference} is not a digest reference: pass <registry>/<image>@sha256:…")
    return name, digest


def _json_patch(kind: str, operations: list[dict]) -> dict:
    return {"target": {"kind": kind, "name": APP}, "patch": yaml.safe_dump(operations, sort_keys=False)}


def kustomization(overlay: Path, layer: Path, workload: Workload, reference: str) -> dict:
    """Return the generated layer's kustomization: the overlay, the digest and the shared settings."""
    name, digest = split_reference(reference)
    container = "/spec/template/spec/containers/0"
    env = [
        {"name": "PREDIRIS_HOST", "value": "0.0.0.0"},
        {"name": "PREDIRIS_PORT", "value": str(workload.port)},
        {"name": "PREDIRIS_METRICS_PORT", "value": str(workload.metrics_port)},
        *({"name": name, "value": value} for name, value in workload.drain.env().items()),
        {
            "name": "PREDIRIS_API_KEYS",
            "valueFrom": {"secretKeyRef": {"name": API_KEYS_SECRET, "key": API_KEYS_SECRET_KEY, "optional": True}},
        },
    ]
    resources = {"cpu": workload.cpu_quantity, "memory": workload.memory}
    deployment: list[dict] = [
        {"op": "replace", "path": f"{container}/resources", "value": {"requests": resources, "limits": dict(resources)}},
        {"op": "replace", "path": f"{container}/ports/0/containerPort", "value": workload.port},
        {"op": "replace", "path": f"{container}/ports/1/containerPort", "value": workload.metrics_port},
        {"op": "replace", "path": f"{container}/env", "value": env},
        {"op": "replace", "path": "/spec/template/metadata/annotations/prometheus.io~1port", "value": str(workload.metrics_port)},
        {"op": "replace", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": workload.drain.termination_grace_seconds},
        {"op": "replace", "path": f"{container}/readinessProbe/periodSeconds", "value": workload.drain.readiness_period_seconds},
        {"op": "replace", "path": f"{container}/readinessProbe/failureThreshold", "value": workload.drain.readiness_failures},
    ]
    trigger = "/spec/triggers/0/metadata"
    scaled_object: list[dict] = [
        {"op": "replace", "path": "/spec/minReplicaCount", "value": workload.min_replicas},
        {"op": "replace", "path": "/spec/maxReplicaCount", "value": workload.max_replicas},
        {"op": "replace", "path": f"{trigger}/threshold", "value": str(workload.concurrency_target)},
        {"op": "replace", "path": f"{trigger}/serverAddress", "value": workload.prometheus_address},
    ]
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(overlay, layer)],
        "images": [{"name": IMAGE_NAME, "newName": name, "digest": digest}],
        "patches": [_json_patch("Deployment", deployment), _json_patch("ScaledObject", scaled_object)],
    }


def write_layer(overlay: str, build_dir: Path, workload: Workload, reference: str) -> Path:
    """Write build_dir/<overlay>/kustomization.yaml over deploy/kubernetes/overlays/<overlay>; return its folder."""
    source = overlay_dir(overlay)
    layer = build_dir / overlay
    layer.mkdir(parents=True, exist_ok=True)
    header = f"# Generated by `invoke deploy --platform kubernetes` from invoke.yaml over {source.relative_to(ROOT)}; edit those instead.\n"
    (layer / "kustomization.yaml").write_text(header + yaml.safe_dump(kustomization(source, layer, workload, reference), sort_keys=False))
    return layer
