"""`invoke push` (the built image to Azure Container Registry), `invoke deploy` (to Azure Container
Apps, checked and rolled back on failure) and `invoke provision` (what deploy needs).

Settings come from the `azure` section of invoke.yaml, then INVOKE_AZURE_* variables, then flags;
the subscription from azure.subscription or AZURE_SUBSCRIPTION_ID. Credentials never go through here:
azure-identity finds them (`az login`, a managed identity, or the CI's OIDC token).
"""

import os
import time
from dataclasses import asdict
from pathlib import Path

from invoke.exceptions import Exit

from prediris_ops.container import docker as dockercli
from prediris_ops.container.provenance import BuildRecord, ci_run, image_id, read_record, require_recorded_image
from prediris_ops.core.durations import seconds
from prediris_ops.core.localapi import curl_line
from prediris_ops.core.options import number
from prediris_ops.core.paths import ROOT
from prediris_ops.tasks.exits import task

PLACEHOLDER_DIGEST = "sha256:<digest recorded by invoke push>"


def _azure():
    """Import the Azure layer on first use: `invoke` starts fast and works without the deploy extra."""
    try:
        import prediris_ops.azure.canary
        import prediris_ops.azure.provision
        import prediris_ops.azure.registry
        import prediris_ops.azure.rollout
    except ImportError as error:
        raise Exit(f"the Azure SDK is not installed ({error.name}): pip install -e '.[deploy]'", code=2) from None
    return prediris_ops.azure


def _record_path(c) -> Path:
    return ROOT / c.azure.push_record


def _git_sha() -> str:
    from prediris_ops.container.image import git

    sha = git(ROOT, "rev-parse", "--short", "HEAD")
    if not sha:
        raise Exit("not in a git checkout: the image tag and the revision suffix come from the git sha", code=2)
    return sha


def _recorded_build(docker: str, c, source: str, tags: list[str]) -> BuildRecord:
    """Return the build record once every local tag to push is the recorded image (loaded from its archive if needed)."""
    record = read_record(ROOT / c.docker.build_record)
    require_recorded_image(docker, record, ROOT / c.docker.archive)
    for tag in tags:
        found = image_id(docker, f"{source}:{tag}")
        if found != record.image_id:
            raise Exit(
                f"{source}:{tag} is {found or 'missing'}, not the image {c.docker.build_record} records ({record.image_id}): "
                "push the image that was built and tested (run `invoke build`, or load its `invoke save` archive)",
                code=1,
            )
    return record


@task(
    help={
        "registry": "Registry login server (default: azure.registry, efreiprediction.azurecr.io).",
        "image": "Repository in the registry (default: azure.image, efreiprediris).",
        "source": "Local image `invoke build` tagged (default: docker.image).",
        "tag": "Tag to push besides `latest` (default: the git short sha, as `invoke build` tags it).",
    }
)
def push(c, *, registry=None, image=None, source=None, tag=None):
    """Push the image `invoke build` recorded (<sha> and latest) to ACR with your Azure identity; record its digest and build."""
    azure = _azure()
    acr, errors = azure.registry, azure.errors
    target = azure.target.target_from_config(c, registry=registry, image=image, require_subscription=False)
    docker = dockercli.resolve_client(c.docker.executable)
    sha = tag or _git_sha()
    local = source or c.docker.image
    build = _recorded_build(docker, c, local, [sha, "latest"])
    with errors.azure_errors(), azure.clients.AzureClients(target) as clients:
        token = acr.refresh_token(target.registry, clients.arm_token())
        acr.docker_login(docker, target.registry, token)
        print(f"logged in to {target.registry} (Entra ID token exchanged for an ACR token, given to docker on stdin)")
        digest = acr.push(docker, local, target.registry, target.image, [sha, "latest"])
    pushed = acr.PushedImage(target.registry, target.image, sha, digest, sha, acr.now_utc(), asdict(build), ci_run())
    acr.record_push(_record_path(c), pushed)
    print(f"pushed {target.registry}/{target.image}:{sha} and :latest\ndigest {digest}\n  {pushed.reference}")
    print(f"  image {build.image_id}, built by {build.built_by}")
    print(f"recorded in {c.azure.push_record}: `invoke deploy` deploys this digest")


def _image_to_deploy(c, azure, target, image):
    if image:
        if "@sha256:" not in image:
            raise Exit(f"--image {image} is a mutable tag: pass a digest reference (<registry>/<image>@sha256:…)", code=2)
        return image, None
    pushed = azure.registry.last_push(_record_path(c))
    if pushed is None:
        return None, None
    return pushed.reference, pushed.git_sha


def _api_keys(variable: str | None, dry_run: bool) -> str | None:
    """Return the API keys held by the environment variable `variable` (never logged), None when not asked for."""
    if not variable or dry_run:
        return None
    keys = os.environ.get(variable, "").strip()
    if not keys:
        raise Exit(
            f"--api-keys-from-env {variable}: that environment variable is empty or unset; export the comma-separated keys in it", code=2
        )
    return keys


def _canary_policy(c, azure, percent, window, check_every, max_error_percent, max_p95_ms):
    """Return the canary policy from the flags and azure.canary_* (None without --canary)."""
    if percent is None:
        return None
    percent = number(percent, int, "canary")
    if not 1 <= percent <= 99:
        raise Exit(f"--canary={percent} must be a percentage of the traffic between 1 and 99", code=2)
    section = c.azure
    return azure.canary.CanaryPolicy(
        percent=percent,
        window=seconds(window or section.canary_window, "--canary-window", positive=True),
        check_every=seconds(check_every or section.canary_check_every, "--canary-check-every", positive=True),
        max_error_percent=number(
            max_error_percent if max_error_percent is not None else section.canary_max_error_percent, float, "canary-max-error-percent"
        ),
        max_p95_ms=number(max_p95_ms if max_p95_ms is not None else section.canary_max_p95_ms, float, "canary-max-p95-ms"),
        probe_path=section.canary_probe_path,
    )


@task(
    help={
        "dry-run": "Print the plan and the exact Container App JSON (secret values hidden); no credentials, no network.",
        "image": "Digest reference to deploy (default: the one `invoke push` recorded).",
        "concurrency-target": "Concurrent requests per replica before scaling out (default: azure.concurrency_target).",
        "min-replicas": "Minimum replicas (default: azure.min_replicas).",
        "max-replicas": "Maximum replicas (default: azure.max_replicas).",
        "cpu": "vCPU per replica (default: azure.cpu).",
        "memory": "Memory per replica, e.g. 1Gi (default: azure.memory).",
        "app": "Container App name (default: azure.app).",
        "resource-group": "Resource group (default: azure.resource_group).",
        "url": "Smoke-test this URL instead of https://<the app's fqdn> (e.g. a custom domain).",
        "platform": "containerapps (default) or kubernetes: kustomize + kubectl, scaled by KEDA (docs/kubernetes.md).",
        "overlay": "Kubernetes only: the overlay in deploy/kubernetes/overlays/ (default: kubernetes.overlay).",
        "api-keys-from-env": "Environment variable holding the API keys (comma-separated); they become a Container Apps secret.",
        "canary": "Give the new revision this PERCENT of the traffic, judge it, then promote it or roll it back.",
        "canary-window": "How long the canary is judged, e.g. 5m or 30s (default: azure.canary_window).",
        "canary-check-every": "Time between probe rounds and metric reads, e.g. 15s (default: azure.canary_check_every).",
        "canary-max-error-percent": "Largest 5xx share (Azure Monitor) and failed-probe share (default: azure.canary_max_error_percent).",
        "canary-max-p95-ms": "Largest p95 latency of the probes, in ms (default: azure.canary_max_p95_ms).",
    }
)
def deploy(
    c,
    *,
    platform="containerapps",
    overlay=None,
    dry_run=False,
    image=None,
    concurrency_target=None,
    min_replicas=None,
    max_replicas=None,
    cpu=None,
    memory=None,
    app=None,
    resource_group=None,
    url=None,
    api_keys_from_env=None,
    canary=None,
    canary_window=None,
    canary_check_every=None,
    canary_max_error_percent=None,
    canary_max_p95_ms=None,
):
    """Deploy the pushed image to Azure Container Apps (traffic rolled back on a failed smoke test) or Kubernetes."""
    azure = _azure()
    if platform == "kubernetes":
        shared = {"concurrency_target": concurrency_target, "min_replicas": min_replicas, "max_replicas": max_replicas}
        reference = _image_to_deploy(c, azure, None, image)[0]
        from prediris_ops.kubernetes.deploy import deploy_kubernetes

        deploy_kubernetes(c, reference=reference, overlay=overlay, dry_run=dry_run, url=url, cpu=cpu, memory=memory, **shared)
        return
    if platform != "containerapps":
        raise Exit(f"--platform {platform}: use containerapps or kubernetes", code=2)
    target = azure.target.target_from_config(
        c,
        require_subscription=not dry_run,
        concurrency_target=concurrency_target,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        cpu=cpu,
        memory=memory,
        app=app,
        resource_group=resource_group,
    )
    keys_from = api_keys_from_env or c.azure.api_keys_from_env
    api_keys = _api_keys(keys_from, dry_run)
    policy = _canary_policy(c, azure, canary, canary_window, canary_check_every, canary_max_error_percent, canary_max_p95_ms)
    reference, pushed_sha = _image_to_deploy(c, azure, target, image)
    sha = pushed_sha or _git_sha()
    if dry_run:
        if reference is None:
            reference = f"{target.registry}/{target.image}@{PLACEHOLDER_DIGEST}"
            print(f"note: no image recorded in {c.azure.push_record} yet; showing the digest placeholder")
        print("\n".join(azure.rollout.plan(target, reference, sha, url, api_keys_from=keys_from, policy=policy)))
        return
    if reference is None:
        raise Exit(
            f"no pushed image recorded in {c.azure.push_record}: run `invoke push` (or pass --image <registry>/<image>@sha256:…)", code=2
        )
    started = time.monotonic()
    with azure.errors.azure_errors(target.location), azure.clients.AzureClients(target) as clients:
        rollout = azure.rollout.deploy(clients, target, reference, sha, smoke_url=url, api_keys=api_keys, policy=policy)
    verb = "deployed" if rollout.changed else "already deployed"
    print(f"{verb}: {rollout.revision} serves {rollout.url} ({time.monotonic() - started:.0f} s) — try:\n  {curl_line(rollout.url)}")


@task(
    help={
        "dry-run": "Print what would be checked and created; no credentials, no network.",
        "location": "Azure region (default: azure.location).",
        "resource-group": "Resource group (default: azure.resource_group).",
    }
)
def provision(c, *, dry_run=False, location=None, resource_group=None):
    """Create what deploy needs when missing (group, registry, logs, environment, pull identity + AcrPull)."""
    azure = _azure()
    target = azure.target.target_from_config(c, require_subscription=not dry_run, location=location, resource_group=resource_group)
    if dry_run:
        print("\n".join(azure.provision.plan(target)))
        return
    with azure.errors.azure_errors(target.location), azure.clients.AzureClients(target) as clients:
        report = azure.provision.provision(clients, target)
    created = [what for what, state in report if state == "created"]
    print(f"provisioned {target.group_id}: " + (f"created {', '.join(created)}" if created else "everything was already there"))
