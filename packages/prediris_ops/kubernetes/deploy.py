"""`invoke deploy --platform kubernetes`: render the layer over an overlay, then print it or apply it.

Settings: the kubernetes section of invoke.yaml, and the replica settings both platforms share (azure
section: cpu, memory, port, min/max replicas, concurrency target, with the deploy task's flags).
"""

from pathlib import Path

from prediris_ops.azure.target import target_from_config
from prediris_ops.core.drain_timing import DrainTiming
from prediris_ops.core.localapi import curl_line
from prediris_ops.core.paths import ROOT
from prediris_ops.kubernetes import kubectl as k
from prediris_ops.kubernetes import rollout
from prediris_ops.kubernetes.errors import SetupError
from prediris_ops.kubernetes.layer import API_KEYS_SECRET, API_KEYS_SECRET_KEY, Workload, write_layer

# Renders valid manifests before the first push; clearly not a real image.
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


def workload(c, **overrides) -> Workload:
    """Return the replica settings Container Apps uses (flags win), with the Kubernetes-only ones."""
    target = target_from_config(c, require_subscription=False, **overrides)
    return Workload(
        cpu=target.cpu,
        memory=target.memory,
        port=target.port,
        metrics_port=target.metrics_port,
        min_replicas=target.min_replicas,
        max_replicas=target.max_replicas,
        concurrency_target=target.concurrency_target,
        drain=DrainTiming.of_service().check(),
        prometheus_address=str(c.kubernetes.prometheus_address),
    )


def deploy_kubernetes(c, *, reference: str | None, overlay: str | None, dry_run: bool, url: str | None, **overrides) -> None:
    """Render the overlay with the settings and the digest; print it (dry run) or apply, roll out, smoke-test."""
    section = c.kubernetes
    overlay = overlay or str(section.overlay)
    build_dir = Path(section.build_dir)
    build_dir = build_dir if build_dir.is_absolute() else ROOT / build_dir
    if reference is None:
        if not dry_run:
            raise SetupError(
                f"no pushed image recorded in {c.azure.push_record}: run `invoke push` (or pass --image <registry>/<image>@sha256:…)"
            )
        reference = f"{c.azure.registry}/{c.azure.image}@{PLACEHOLDER_DIGEST}"
        print(f"# note: no image recorded in {c.azure.push_record} yet; rendering a placeholder digest")
    layer = write_layer(overlay, build_dir, workload(c, **overrides), reference)
    kubectl = k.find_kubectl(str(section.kubectl), section.get("context"))
    if dry_run:
        print(f"# kubectl kustomize {layer.relative_to(ROOT) if layer.is_relative_to(ROOT) else layer}", flush=True)
        manifests = k.render(c, kubectl, layer)
        print(manifests, end="", flush=True)
        namespace = k.the(k.documents(manifests), "Deployment")["metadata"].get("namespace", "default")
        print(f"# API keys: from Secret {namespace}/{API_KEYS_SECRET} (`{API_KEYS_SECRET_KEY}`) if it exists; deploy says when it does not")
        return
    if not k.kubeconfig_present():
        raise SetupError(k.KUBECONFIG_HINT)
    deployed = rollout.deploy(c, kubectl, layer, rollout_timeout=int(section.rollout_timeout), url=url)
    if deployed.url:
        print(
            f"deployed: deployment/{deployed.deployment} in {deployed.namespace} serves {deployed.url} — try:\n  {curl_line(deployed.url)}"
        )
    else:
        print(
            f"deployed: deployment/{deployed.deployment} in {deployed.namespace}; reach it with "
            f"`kubectl port-forward --namespace {deployed.namespace} service/prediris 5000:80`"
        )
