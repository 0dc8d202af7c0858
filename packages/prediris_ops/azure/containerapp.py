"""The Container App resource prediris deploys, built from the target, the image digest and the git sha.

One function makes the whole resource (a PUT replaces it): the image by digest, pulled through the
user-assigned identity; external ingress on the API port, and the metrics port mapped for the
environment's own network only; the API keys as a Container Apps secret the container reads through
`secretRef`; liveness, readiness and startup probes on the health routes; CPU/memory per replica;
min/max replicas and an HTTP scale rule on concurrent requests; the environment's workload profile;
several active revisions, so traffic can be moved back to the previous one (or split for a canary).
"""

import hashlib
import json

from azure.mgmt.appcontainers import models

from prediris_ops.azure.target import AzureTarget
from prediris_ops.core.drain_timing import DrainTiming

CONTAINER_NAME = "prediris"
SCALE_RULE_NAME = "http-concurrency"
# The Container Apps secret holding the API keys, and the variable the API reads them from.
API_KEYS_SECRET = "api-keys"  # noqa: S105 (the secret's name, not a value)
API_KEYS_VARIABLE = "PREDIRIS_API_KEYS"
# What the dry run shows instead of a secret's value.
HIDDEN = "<hidden>"
# Readiness turns 503 while a replica drains on SIGTERM: the probe and the grace follow the drain.
DRAIN = DrainTiming.of_service().check()


def _probe(
    kind: str, path: str, port: int, *, period: int, failures: int, initial_delay: int | None = None, timeout: int = 3
) -> models.ContainerAppProbe:
    return models.ContainerAppProbe(
        type=kind,
        http_get=models.ContainerAppProbeHttpGet(path=path, port=port, scheme="HTTP"),
        initial_delay_seconds=initial_delay,
        period_seconds=period,
        failure_threshold=failures,
        timeout_seconds=timeout,
    )


def revision_template(target: AzureTarget, image: str, *, api_keys: bool = False) -> models.Template:
    """Return the revision template (containers, probes, scale) without its suffix; `api_keys`: read them from the secret."""
    port = target.port
    env = [
        models.EnvironmentVar(name="PREDIRIS_HOST", value="0.0.0.0"),
        models.EnvironmentVar(name="PREDIRIS_PORT", value=str(port)),
        models.EnvironmentVar(name="PREDIRIS_METRICS_PORT", value=str(target.metrics_port)),
        *(models.EnvironmentVar(name=name, value=value) for name, value in DRAIN.env().items()),
    ]
    if api_keys:
        env.append(models.EnvironmentVar(name=API_KEYS_VARIABLE, secret_ref=API_KEYS_SECRET))
    container = models.Container(
        name=CONTAINER_NAME,
        image=image,
        resources=models.ContainerResources(cpu=target.cpu, memory=target.memory),
        env=env,
        probes=[
            # Up to 60 s to start (model load and verification) before liveness counts.
            _probe("Startup", "/health/live", port, period=2, failures=30, initial_delay=1),
            _probe("Liveness", "/health/live", port, period=10, failures=3),
            _probe("Readiness", "/health/ready", port, period=DRAIN.readiness_period_seconds, failures=DRAIN.readiness_failures, timeout=1),
        ],
    )
    scale = models.Scale(
        min_replicas=target.min_replicas,
        max_replicas=target.max_replicas,
        rules=[
            models.ScaleRule(
                name=SCALE_RULE_NAME,
                http=models.HttpScaleRule(metadata={"concurrentRequests": str(target.concurrency_target)}),
            )
        ],
    )
    return models.Template(containers=[container], scale=scale, termination_grace_period_seconds=DRAIN.termination_grace_seconds)


def revision_suffix(target: AzureTarget, image: str, git_sha: str, *, api_keys: bool = False) -> str:
    """Return `<git sha>-<hash of the revision template>`: a new revision only when the template changes."""
    template = revision_template(target, image, api_keys=api_keys).as_dict()
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:5]
    return f"{git_sha.lower()[:12]}-{digest}"


def container_app(
    target: AzureTarget, image: str, git_sha: str, *, api_keys: str | None = None, traffic: list[models.TrafficWeight] | None = None
) -> models.ContainerApp:
    """Return the complete Container App resource for `image` (a digest reference) built from `git_sha`.

    `api_keys` (comma-separated) become the `api-keys` secret; `traffic` replaces "all to the latest revision".
    """
    template = revision_template(target, image, api_keys=api_keys is not None)
    template.revision_suffix = revision_suffix(target, image, git_sha, api_keys=api_keys is not None)
    secrets = [models.Secret(name=API_KEYS_SECRET, value=api_keys)] if api_keys is not None else None
    return models.ContainerApp(
        location=target.location,
        tags={"app": "prediris", "git-sha": git_sha},
        identity=models.ManagedServiceIdentity(
            type="UserAssigned",
            user_assigned_identities={target.identity_id: models.UserAssignedIdentity()},
        ),
        properties=models.ContainerAppProperties(
            # environmentId: the REST specification marks managedEnvironmentId "Deprecated".
            environment_id=target.environment_id,
            workload_profile_name=target.workload_profile,
            configuration=models.Configuration(
                active_revisions_mode="Multiple",
                max_inactive_revisions=20,
                ingress=models.Ingress(
                    external=True,
                    target_port=target.port,
                    transport="http",
                    allow_insecure=False,
                    traffic=traffic or to_latest(),
                    # Prometheus inside the environment scrapes here; nothing outside reaches it.
                    additional_port_mappings=[models.IngressPortMapping(external=False, target_port=target.metrics_port)],
                ),
                secrets=secrets,
                registries=[models.RegistryCredentials(server=target.registry, identity=target.identity_id)],
            ),
            template=template,
        ),
    )


def without_secret_values(body: dict, shown: str | None = HIDDEN) -> dict:
    """Return a copy of the REST body with each `configuration.secrets[].value` replaced by `shown` (None: removed)."""
    copy = json.loads(json.dumps(body))
    for secret in ((copy.get("properties") or {}).get("configuration") or {}).get("secrets") or []:
        secret.pop("value", None)
        if shown is not None:
            secret["value"] = shown
    return copy


def resource_json(resource) -> str:
    """Return the JSON body the SDK sends for `resource` (REST field names), indented, secret values hidden."""
    return json.dumps(without_secret_values(resource.as_dict()), indent=2)


def traffic_patch(weights: list[models.TrafficWeight]) -> models.ContainerApp:
    """Return the PATCH body that sets the ingress traffic weights and nothing else."""
    # A JSON merge patch: only the traffic (the model's keyword form would also demand a location).
    return models.ContainerApp({"properties": {"configuration": {"ingress": {"traffic": [weight.as_dict() for weight in weights]}}}})


def to_revision(name: str, weight: int) -> models.TrafficWeight:
    """Return a traffic weight for the revision `name`."""
    return models.TrafficWeight(revision_name=name, weight=weight)


def to_latest() -> list[models.TrafficWeight]:
    """Return the steady state: all traffic to the latest revision."""
    return [models.TrafficWeight(latest_revision=True, weight=100)]
