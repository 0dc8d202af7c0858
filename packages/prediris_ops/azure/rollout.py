"""Roll a new revision out to Azure Container Apps: create or update the app, wait with visible
progress, smoke-test the live URL, and on failure move traffic back to the previous revision.

With a canary, the new revision starts with no traffic, is smoke-tested at its own address, then takes
PERCENT of the traffic while prediris_ops.azure.canary judges it; it is promoted to 100 % or rolled back.

Revisions: the app runs in `Multiple` revision mode so the previous revision can take traffic again.
A revision's suffix is `<git sha>-<template hash>`, so the same inputs give the same revision and a
second deploy of them changes nothing.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.appcontainers import models

from prediris_api.settings import short_key_error
from prediris_ops.azure import canary
from prediris_ops.azure.clients import AzureClients
from prediris_ops.azure.containerapp import (
    API_KEYS_SECRET,
    container_app,
    resource_json,
    revision_suffix,
    to_latest,
    to_revision,
    traffic_patch,
    without_secret_values,
)
from prediris_ops.azure.errors import AzureError, describe
from prediris_ops.azure.target import AzureTarget
from prediris_ops.checks.smoke import first_key, run_checks

Log = Callable[[str], None]
HEALTHY = ("healthy",)
# Said on every deploy without keys: what is open, and how to close it (docs/security.md).
OPEN_PREDICTIONS = (
    "API keys: none: /predict and V2 inference will answer anyone who reaches the app; to require keys, export them "
    "(comma-separated, 16+ characters each) in a variable and deploy with --api-keys-from-env VARIABLE"
)
FAILED_PROVISIONING = ("failed", "deprovisioned")
FAILED_RUNNING = ("failed", "degraded")


@dataclass(frozen=True)
class Rollout:
    revision: str
    url: str
    previous: str | None
    changed: bool


def _patch_json(weights) -> str:
    return json.dumps(traffic_patch(weights).as_dict())


SERVING_NOW = "<the revision serving now>"


def _steps(target: AzureTarget, revision: str, smoke_url: str | None) -> list[str]:
    app = target.app_id
    return [
        f"  2. PUT   {app}  (the resource below; skipped when the app already runs exactly it; waits for the operation)",
        f"  3. GET   {app}/revisions/{revision}  (until Provisioned and Healthy, at most {target.revision_timeout:.0f} s)",
        f"  4. smoke test {smoke_url or target.ingress_scheme + '://<the ingress fqdn>'}  (the checks of `invoke smoke`)",
        "  5. success: POST …/revisions/<older>/deactivate for the revisions left without traffic",
        f"     failure: PATCH {app}  {_patch_json([to_revision(SERVING_NOW, 100)])}, POST …/revisions/{revision}/deactivate, exit 1",
    ]


def _canary_steps(target: AzureTarget, policy: canary.CanaryPolicy, revision: str) -> list[str]:
    app, split = target.app_id, [to_revision(revision, policy.percent), to_revision(SERVING_NOW, 100 - policy.percent)]
    return [
        f"  2. PUT   {app}  (the resource below: the new revision starts with no traffic; waits for the operation)",
        f"  3. GET   {app}/revisions/{revision}  (until Provisioned and Healthy, at most {target.revision_timeout:.0f} s), "
        f"then the smoke test of {target.ingress_scheme}://<its own fqdn>",
        f"  4. canary, {policy.percent} % of the traffic: PATCH {app}  {_patch_json(split)}",
        f"  5. for {policy.window:g} s, every {policy.check_every:g} s: {policy.probes_per_check} probes of "
        f"{target.ingress_scheme}://<its own fqdn>{policy.probe_path} (p95 ≤ {policy.max_p95_ms:g} ms) and "
        f"GET {app}/providers/Microsoft.Insights/metrics (Requests, PT1M, Total, revisionName eq '{revision}' and statusCodeCategory "
        f"eq '*'; 5xx ≤ {policy.max_error_percent:g} %)",
        f"  6. promotion: PATCH {app}  {_patch_json(to_latest())}, then POST …/revisions/<older>/deactivate",
        f"     rollback:  PATCH {app}  {_patch_json([to_revision(SERVING_NOW, 100)])}, POST …/revisions/{revision}/deactivate, exit 1",
    ]


def plan(
    target: AzureTarget,
    image: str,
    git_sha: str,
    smoke_url: str | None = None,
    *,
    api_keys_from: str | None = None,
    policy: canary.CanaryPolicy | None = None,
) -> list[str]:
    """Return the dry-run plan: each request deploy would make, then the Container App JSON (secret values hidden)."""
    keys = f"<${api_keys_from}>" if api_keys_from else None  # never read: the dry run shows where the keys come from
    traffic = [to_revision(SERVING_NOW, 100)] if policy else None
    resource = container_app(target, image, git_sha, api_keys=keys, traffic=traffic)
    revision = f"{target.app}--{revision_suffix(target, image, git_sha, api_keys=keys is not None)}"
    keys_line = (
        f"API keys: ${api_keys_from} → the Container Apps secret {API_KEYS_SECRET} → env PREDIRIS_API_KEYS (secretRef)"
        if api_keys_from
        else OPEN_PREDICTIONS
    )
    return [
        "plan (dry run: no credentials, no network):",
        f"  {keys_line}",
        f"  1. GET   {target.app_id}  (the current app and its revisions)",
        *(_canary_steps(target, policy, revision) if policy else _steps(target, revision, smoke_url)),
        f"body of step 2 (as azure-mgmt-appcontainers {metadata.version('azure-mgmt-appcontainers')} sends it):",
        resource_json(resource),
    ]


def _same(desired, actual) -> bool:
    """Return True when every field we set has that value in Azure's copy (Azure adds fields of its own)."""
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(key in actual and _same(value, actual[key]) for key, value in desired.items())
    if isinstance(desired, list):
        return isinstance(actual, list) and len(desired) == len(actual) and all(map(_same, desired, actual))
    if isinstance(desired, str) and isinstance(actual, str):
        return desired.lower() == actual.lower()  # ARM ids and enums come back in another case
    return desired == actual


def _revisions(clients: AzureClients, target: AzureTarget) -> list[models.Revision]:
    return list(clients.apps.container_apps_revisions.list_revisions(target.resource_group, target.app))


def _traffic(revision: models.Revision) -> int:
    """Return the traffic weight of an active revision, 0 for an inactive one."""
    props = revision.properties
    return (props.traffic_weight or 0) if props is not None and props.active else 0


def _serving(revisions: list[models.Revision]) -> models.Revision | None:
    live = [r for r in revisions if _traffic(r) > 0]
    return max(live, key=_traffic, default=None)


def _smoke(url: str, log: Log, api_keys: str | None = None) -> str | None:
    """Run the smoke checks against `url` (with the first of `api_keys`); return why it failed, or None."""
    checks = run_checks(url, api_key=first_key(api_keys))
    for check in checks:
        log(f"    {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    failed = [check for check in checks if not check.ok]
    return f"{len(failed)} of {len(checks)} smoke checks failed ({failed[0].name}: {failed[0].detail})" if failed else None


def wait_for_revision(clients: AzureClients, target: AzureTarget, name: str, log: Log, sleep=time.sleep) -> str | None:
    """Poll the revision until it is Provisioned and Healthy; return why it is not, or None."""
    started = time.monotonic()
    last = None
    while True:
        revision = clients.apps.container_apps_revisions.get_revision(target.resource_group, target.app, name)
        props = revision.properties
        state = (_text(props.provisioning_state), _text(props.health_state), _text(props.running_state), props.replicas or 0)
        elapsed = time.monotonic() - started
        if state != last:
            log(f"  {elapsed:5.0f} s  revision {name}: {state[0]}, health {state[1] or 'None'}, {state[2] or '—'}, {state[3]} replica(s)")
            last = state
        if state[0].lower() in FAILED_PROVISIONING:
            return f"revision {name} failed to provision: {props.provisioning_error or state[2]}"
        if state[0].lower() == "provisioned" and state[1].lower() in HEALTHY:
            return None
        if state[0].lower() == "provisioned" and (state[1].lower() == "unhealthy" or state[2].lower() in FAILED_RUNNING):
            return f"revision {name} is {state[1] or state[2]} (its probes on /health/live and /health/ready fail)"
        if elapsed > target.revision_timeout:
            return f"revision {name} was not healthy after {target.revision_timeout:.0f} s ({state[0]}, health {state[1] or 'None'})"
        sleep(target.poll_seconds)


def _wait_operation(poller, what: str, log: Log, every: float = 30.0) -> object:
    """Wait for a long-running operation, printing its status when it changes (and every `every` s)."""
    started = last_print = time.monotonic()
    last = None
    while not poller.done():
        poller.wait(1.0)
        status, now = poller.status(), time.monotonic()
        if status != last or now - last_print >= every:
            log(f"  {now - started:5.0f} s  {what}: {status}")
            last, last_print = status, now
    return poller.result()


def _text(value) -> str:
    """Return an SDK enum's wire value ("Provisioned"), or the string itself."""
    return str(getattr(value, "value", value) or "")


def set_traffic(clients: AzureClients, target: AzureTarget, weights: list[models.TrafficWeight], log: Log) -> None:
    """PATCH the app's traffic weights and wait for the operation."""
    poller = clients.apps.container_apps.begin_update(target.resource_group, target.app, traffic_patch(weights))
    _wait_operation(poller, f"app {target.app}", log)


def roll_back(clients: AzureClients, target: AzureTarget, new: str, previous: str | None, log: Log) -> str:
    """Send all traffic back to `previous` and deactivate `new`; return what was done."""
    revisions_api = clients.apps.container_apps_revisions
    if previous is None or previous.lower() == new.lower():
        revisions_api.deactivate_revision(target.resource_group, target.app, new)
        return f"no previous revision to roll back to; {new} deactivated"
    current = revisions_api.get_revision(target.resource_group, target.app, previous)
    if not current.properties.active:
        revisions_api.activate_revision(target.resource_group, target.app, previous)
    log(f"rolling back: traffic 100 % → {previous}")
    set_traffic(clients, target, [to_revision(previous, 100)], log)
    revisions_api.deactivate_revision(target.resource_group, target.app, new)
    return f"traffic rolled back to {previous}, {new} deactivated"


def _secrets_match(clients: AzureClients, target: AzureTarget, desired: dict) -> bool:
    """Return True when the app's secrets hold the desired values (Azure shows them only through listSecrets)."""
    wanted = {s["name"]: s.get("value") for s in desired["properties"]["configuration"].get("secrets") or []}
    if not wanted:
        return True
    current = clients.apps.container_apps.list_secrets(target.resource_group, target.app)
    return {secret.name: secret.value for secret in current.value} == wanted


def _revision_url(clients: AzureClients, target: AzureTarget, name: str) -> str:
    fqdn = clients.apps.container_apps_revisions.get_revision(target.resource_group, target.app, name).properties.fqdn
    return f"{target.ingress_scheme}://{fqdn}" if fqdn else ""


def _run_canary(
    clients, target, policy: canary.CanaryPolicy, name: str, previous: str, log: Log, api_keys: str | None = None
) -> str | None:
    """Smoke-test the new revision at its own address, give it its share, judge it, promote it; return why it failed."""
    url = _revision_url(clients, target, name)
    if not url:
        return f"revision {name} has no address of its own to probe"
    log(f"smoke test of {name} at {url}:")
    reason = _smoke(url, log, api_keys)
    if reason is not None:
        return reason
    log(f"canary: traffic {policy.percent} % → {name}, {100 - policy.percent} % → {previous}")
    set_traffic(clients, target, [to_revision(name, policy.percent), to_revision(previous, 100 - policy.percent)], log)
    try:
        reason, signals = canary.judge(clients.metrics, target, policy, name, url, log)
    except HttpResponseError as error:  # the split must not outlive a canary nobody judges
        reason = f"Azure Monitor could not be read: {describe(error)}"
    except KeyboardInterrupt:
        reason = "interrupted before the end of its window"
    if reason is not None:
        return f"the canary failed: {reason}"
    log(f"canary passed ({signals.summary()}): promoting {name} to 100 %")
    set_traffic(clients, target, to_latest(), log)
    return None


def deploy(
    clients: AzureClients,
    target: AzureTarget,
    image: str,
    git_sha: str,
    *,
    smoke_url: str | None = None,
    api_keys: str | None = None,
    policy: canary.CanaryPolicy | None = None,
    log: Log = print,
) -> Rollout:
    """Create or update the app to run `image`, check the new revision (as a canary with `policy`), roll back on failure."""
    group, app_api = target.resource_group, clients.apps.container_apps
    if api_keys is None:
        log(OPEN_PREDICTIONS)
    elif (short := short_key_error(tuple(key.strip() for key in api_keys.split(",") if key.strip()))) is not None:
        raise AzureError(f"not deployed, its replicas would refuse to start: {short}", code=2)
    desired = container_app(target, image, git_sha, api_keys=api_keys)
    name = f"{target.app}--{revision_suffix(target, image, git_sha, api_keys=api_keys is not None)}"
    try:
        current = app_api.get(group, target.app)
    except ResourceNotFoundError:
        current = None
    revisions = _revisions(clients, target) if current is not None else []
    serving = _serving(revisions)
    previous = serving.name if serving is not None else None
    wanted = desired.as_dict()
    unchanged = (
        current is not None
        and _same(without_secret_values(wanted, shown=None), current.as_dict())
        and serving is not None
        and serving.properties is not None
        and (serving.name or "").lower() == name.lower()
        and _text(serving.properties.health_state).lower() in HEALTHY
        and _secrets_match(clients, target, wanted)
    )
    same_revision = previous is not None and previous.lower() == name.lower()
    if policy is not None and not unchanged and previous is None:
        raise AzureError(f"--canary needs a revision serving traffic to share it with; {target.app} has none: deploy without --canary")
    if policy is not None and same_revision and not unchanged:
        log(f"{name} already serves all the traffic: no canary (only the app's settings change)")
        policy = None
    if unchanged:
        log(f"unchanged: {name} already runs {image} with 100 % of the traffic")
        app = current
    else:
        log(
            f"deploying {image} to {target.app} as revision {name}"
            + (f" (serving now: {previous})" if previous else " (no revision serves traffic yet)")
            + (f", a canary of {policy.percent} %" if policy else "")
        )
        if policy is not None and previous is not None:  # the new revision starts without traffic
            desired = container_app(target, image, git_sha, api_keys=api_keys, traffic=[to_revision(previous, 100)])
        app = _wait_operation(app_api.begin_create_or_update(group, target.app, desired), f"app {target.app}", log)
        revision = clients.apps.container_apps_revisions.get_revision(group, target.app, name)
        if not revision.properties.active:  # the same revision again, after a rollback deactivated it
            clients.apps.container_apps_revisions.activate_revision(group, target.app, name)
        elif same_revision:  # only secrets changed: replicas read them when they start
            log(f"restarting {name}: its secrets changed")
            clients.apps.container_apps_revisions.restart_revision(group, target.app, name)
    fqdn = app.properties.configuration.ingress.fqdn if app.properties.configuration and app.properties.configuration.ingress else None
    url = smoke_url or (f"{target.ingress_scheme}://{fqdn}" if fqdn else "")
    reason = None if unchanged else wait_for_revision(clients, target, name, log)
    if reason is None and policy is not None and previous is not None:  # a canary always has a previous revision (checked above)
        reason = _run_canary(clients, target, policy, name, previous, log, api_keys)
    elif reason is None:
        if not url:
            reason = "the app has no ingress fqdn to smoke-test"
        else:
            log(f"smoke test of {url}:")
            reason = _smoke(url, log, api_keys)
    if reason is not None:
        if unchanged:
            raise AzureError(f"the live revision {name} fails its smoke test: {reason}")
        done = roll_back(clients, target, name, previous, log)
        raise AzureError(f"deploy of {name} failed: {reason}; {done}")
    if not unchanged:
        for revision in revisions:
            if revision.properties is not None and revision.properties.active and revision.name and revision.name.lower() != name.lower():
                clients.apps.container_apps_revisions.deactivate_revision(group, target.app, revision.name)
                log(f"deactivated {revision.name} (no traffic)")
    return Rollout(name, url, previous, changed=not unchanged)
