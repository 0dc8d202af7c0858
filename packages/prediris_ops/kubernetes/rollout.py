"""Deploy to Kubernetes: apply the rendered layer, wait for the rollout, smoke-test the Service.

The smoke test reaches the Service at its load-balancer address when it has one (the aks overlay),
else through `kubectl port-forward` (a ClusterIP Service on a local cluster), or at --url.
"""

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prediris_api.settings import short_key_error
from prediris_ops.checks.smoke import first_key, run_checks
from prediris_ops.core.errors import OpsError
from prediris_ops.core.localapi import free_port
from prediris_ops.core.processes import stop, wait_http
from prediris_ops.kubernetes import kubectl as k
from prediris_ops.kubernetes.errors import KubernetesError, SetupError
from prediris_ops.kubernetes.layer import API_KEYS_SECRET, API_KEYS_SECRET_KEY

Log = Callable[[str], None]


@dataclass(frozen=True)
class Deployed:
    namespace: str
    deployment: str
    # Where the smoke test reached it; None when that was a port-forward, gone with the task.
    url: str | None


@contextmanager
def service_url(
    c, kubectl: k.Kubectl, namespace: str, service: dict, url: str | None, wait_seconds: float = 120.0
) -> Iterator[tuple[str, bool]]:
    """Yield (URL that reaches the Service, whether it lasts): --url, its load-balancer address, or a port-forward."""
    if url:
        yield url.rstrip("/"), True
        return
    name, port = service["metadata"]["name"], service["spec"]["ports"][0]["port"]
    if service["spec"].get("type") == "LoadBalancer":
        deadline = time.monotonic() + wait_seconds
        while (address := k.load_balancer_address(c, kubectl, namespace, name)) is None and time.monotonic() < deadline:
            time.sleep(5)
        if address is None:
            raise KubernetesError(f"Service {namespace}/{name} got no load-balancer address in {wait_seconds:.0f} s: pass --url")
        yield f"http://{address}" + ("" if port == 80 else f":{port}"), True
        return
    local = free_port()
    forward = subprocess.Popen(
        k.port_forward_argv(kubectl, namespace, name, local, port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        try:
            wait_http(f"http://127.0.0.1:{local}/health/live", 30, process=forward)
        except OpsError:
            raise KubernetesError(f"kubectl port-forward to Service {namespace}/{name} did not answer: pass --url") from None
        yield f"http://127.0.0.1:{local}", False
    finally:
        stop(forward)


def open_predictions(namespace: str) -> str:
    """Return the one line a deploy says when predictions will need no key, naming how to require keys."""
    return (
        f"API keys: no Secret {namespace}/{API_KEYS_SECRET}: /predict and V2 inference will answer anyone who reaches the Service; "
        f"to require keys: kubectl create secret generic {API_KEYS_SECRET} --namespace {namespace} "
        f"--from-literal={API_KEYS_SECRET_KEY}=<key>[,<key>] (16+ characters each), "
        f"then kubectl rollout restart deployment/prediris --namespace {namespace}"
    )


def secret_keys(c, kubectl: k.Kubectl, namespace: str, log: Log) -> str | None:
    """Return the keys of the pods' API-key Secret (None: there is none, said in one line); refuse keys the API would refuse."""
    keys = k.api_keys(c, kubectl, namespace, API_KEYS_SECRET, API_KEYS_SECRET_KEY)
    if keys is None:
        log(open_predictions(namespace))
        return None
    short = short_key_error(tuple(key.strip() for key in keys.split(",") if key.strip()))
    if short is not None:
        raise SetupError(f"Secret {namespace}/{API_KEYS_SECRET}: the pods would refuse to start: {short}")
    return keys


def smoke(url: str, log: Log, api_key: str | None = None) -> None:
    """Run the checks of `invoke smoke` against `url` (predictions with `api_key`); raise with the first failure."""
    checks = run_checks(url, api_key=api_key)
    for check in checks:
        log(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    failed = [check for check in checks if not check.ok]
    if failed:
        raise KubernetesError(f"{len(failed)} of {len(checks)} smoke checks failed at {url} ({failed[0].name}: {failed[0].detail})")


def deploy(c, kubectl: k.Kubectl, layer: Path, *, rollout_timeout: int, url: str | None = None, log: Log = print) -> Deployed:
    """Render, check the CRDs, apply server-side, wait for the rollout, smoke-test; return where it runs."""
    objects = k.documents(k.render(c, kubectl, layer))
    deployment, service = k.the(objects, "Deployment"), k.the(objects, "Service")
    namespace, name = deployment["metadata"].get("namespace", "default"), deployment["metadata"]["name"]
    k.require_crds(c, kubectl, objects)
    keys = secret_keys(c, kubectl, namespace, log)
    log(f"1. kubectl apply --server-side ({len(objects)} objects in namespace {namespace})")
    k.apply(c, kubectl, layer)
    log(f"2. kubectl rollout status deployment/{name} (up to {rollout_timeout} s)")
    k.rollout_status(c, kubectl, namespace, name, rollout_timeout)
    with service_url(c, kubectl, namespace, service, url) as (reached, lasting):
        log(f"3. smoke test of Service {namespace}/{service['metadata']['name']} at {reached}")
        smoke(reached, log, first_key(keys))
    return Deployed(namespace, name, reached if lasting else None)
