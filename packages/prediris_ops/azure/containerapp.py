"""The Container App resource prediris deploys, built from the target, the image digest and the git sha.

One function makes the whole resource (a PUT replaces it): the image by digest, pulled through the
user-assigned identity; external ingress on the API port; liveness, readiness and startup probes on the
health routes; CPU/memory per replica; min/max replicas and an HTTP scale rule on concurrent requests;
several active revisions, so traffic can be moved back to the previous one.
"""

import hashlib
import json

from azure.mgmt.appcontainers import models

from prediris_ops.azure.target import AzureTarget

CONTAINER_NAME = "prediris"
SCALE_RULE_NAME = "http-concurrency"
# Readiness turns 503 while a replica drains on SIGTERM; give it time to finish its requests.
TERMINATION_GRACE_SECONDS = 30


def _probe(kind: str, path: str, port: int, *, period: int, failures: int, initial_delay: int | None = None) -> models.ContainerAppProbe:
    return models.ContainerAppProbe(
        type=kind,
        http_get=models.ContainerAppProbeHttpGet(path=path, port=port, scheme="HTTP"),
        initial_delay_seconds=initial_delay,
        period_seconds=period,
        failure_threshold=failures,
        timeout_seconds=3,
    )


def revision_template(target: AzureTarget, image: str) -> models.Template:
    """Return the revision template (containers, probes, scale) without its suffix."""
    port = target.port
    container = models.Container(
        name=CONTAINER_NAME,
        image=image,
        resources=models.ContainerResources(cpu=target.cpu, memory=target.memory),
        env=[
            models.EnvironmentVar(name="PREDIRIS_HOST", value="0.0.0.0"),
            models.EnvironmentVar(name="PREDIRIS_PORT", value=str(port)),
        ],
        probes=[
            # Up to 60 s to start (model load and verification) before liveness counts.
            _probe("Startup", "/health/live", port, period=2, failures=30, initial_delay=1),
            _probe("Liveness", "/health/live", port, period=10, failures=3),
            _probe("Readiness", "/health/ready", port, period=5, failures=3),
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
    return models.Template(containers=[container], scale=scale, termination_grace_period_seconds=TERMINATION_GRACE_SECONDS)


def revision_suffix(target: AzureTarget, image: str, git_sha: str) -> str:
    """Return `<git sha>-<hash of the revision template>`: a new revision only when the template changes."""
    template = revision_template(target, image).as_dict()
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:5]
    return f"{git_sha.lower()[:12]}-{digest}"


def container_app(target: AzureTarget, image: str, git_sha: str) -> models.ContainerApp:
    """Return the complete Container App resource for `image` (a digest reference) built from `git_sha`."""
    template = revision_template(target, image)
    template.revision_suffix = revision_suffix(target, image, git_sha)
    return models.ContainerApp(
        location=target.location,
        tags={"app": "prediris", "git-sha": git_sha},
        identity=models.ManagedServiceIdentity(
            type="UserAssigned",
            user_assigned_identities={target.identity_id: models.UserAssignedIdentity()},
        ),
        properties=models.ContainerAppProperties(
            managed_environment_id=target.environment_id,
            configuration=models.Configuration(
                active_revisions_mode="Multiple",
                max_inactive_revisions=20,
                ingress=models.Ingress(
                    external=True,
                    target_port=target.port,
                    transport="http",
                    allow_insecure=False,
                    traffic=[models.TrafficWeight(latest_revision=True, weight=100)],
                ),
                registries=[models.RegistryCredentials(server=target.registry, identity=target.identity_id)],
            ),
            template=template,
        ),
    )


def resource_json(resource) -> str:
    """Return the exact JSON body the SDK sends for `resource` (REST field names), indented."""
    return json.dumps(resource.as_dict(), indent=2)
