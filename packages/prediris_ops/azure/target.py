"""What we deploy where: the `azure` section of invoke.yaml (plus environment and flags) as one value,
with the Azure resource ids derived from it in one place."""

import os
from dataclasses import dataclass, fields, replace

from prediris_ops.core.errors import OpsError
from prediris_ops.core.options import number

# Resource ids name the subscription; a dry run without one shows this placeholder instead.
SUBSCRIPTION_PLACEHOLDER = "<AZURE_SUBSCRIPTION_ID>"


@dataclass(frozen=True)
class AzureTarget:
    subscription: str
    resource_group: str
    location: str
    registry: str  # the login server, e.g. efreiprediction.azurecr.io
    image: str  # the repository in the registry
    app: str
    environment: str
    workspace: str
    identity: str
    cpu: float
    memory: str
    min_replicas: int
    max_replicas: int
    concurrency_target: int
    port: int
    registry_sku: str = "Basic"
    # The API serves /metrics on this port; ingress maps it inside the environment only.
    metrics_port: int = 9464
    # The environment's workload profile the app runs on (provision creates it).
    workload_profile: str = "Consumption"
    # How revision and app addresses are reached: https on Azure (the tests' local servers speak http).
    ingress_scheme: str = "https"
    arm_endpoint: str = "https://management.azure.com"
    revision_timeout: float = 600.0
    poll_seconds: float = 5.0

    @property
    def registry_name(self) -> str:
        return self.registry.split(".", 1)[0]

    @property
    def group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    def _id(self, provider_type: str, name: str) -> str:
        return f"{self.group_id}/providers/{provider_type}/{name}"

    @property
    def registry_id(self) -> str:
        return self._id("Microsoft.ContainerRegistry/registries", self.registry_name)

    @property
    def identity_id(self) -> str:
        return self._id("Microsoft.ManagedIdentity/userAssignedIdentities", self.identity)

    @property
    def workspace_id(self) -> str:
        return self._id("Microsoft.OperationalInsights/workspaces", self.workspace)

    @property
    def environment_id(self) -> str:
        return self._id("Microsoft.App/managedEnvironments", self.environment)

    @property
    def app_id(self) -> str:
        return self._id("Microsoft.App/containerApps", self.app)

    @property
    def has_subscription(self) -> bool:
        return self.subscription != SUBSCRIPTION_PLACEHOLDER


def target_from_config(c, *, require_subscription: bool = True, **overrides) -> AzureTarget:
    """Build the target from c.azure, AZURE_SUBSCRIPTION_ID and the task's flags (flags win; None means unset)."""
    section = c.azure
    values = {f.name: section.get(f.name) for f in fields(AzureTarget) if section.get(f.name) is not None}
    values.update({name: value for name, value in overrides.items() if value is not None})
    values["subscription"] = values.get("subscription") or os.environ.get("AZURE_SUBSCRIPTION_ID") or ""
    if not values["subscription"]:
        if require_subscription:
            raise OpsError(
                "no Azure subscription selected: set AZURE_SUBSCRIPTION_ID (laptop: `az account show --query id -o tsv`; "
                "CI: the AZURE_SUBSCRIPTION_ID variable) or azure.subscription in invoke.yaml",
                code=2,
            )
        values["subscription"] = SUBSCRIPTION_PLACEHOLDER
    for name, kind in (("cpu", float), ("min_replicas", int), ("max_replicas", int), ("concurrency_target", int), ("port", int)):
        values[name] = number(values[name], kind, name.replace("_", "-"))
    for name, kind in (("revision_timeout", float), ("poll_seconds", float), ("metrics_port", int)):
        if name in values:
            values[name] = number(values[name], kind, name.replace("_", "-"))
    values["arm_endpoint"] = str(values.get("arm_endpoint") or AzureTarget.arm_endpoint).rstrip("/")
    target = AzureTarget(**values)
    _validate(target)
    return target


def _validate(target: AzureTarget) -> None:
    if not 0 <= target.min_replicas <= target.max_replicas:
        raise OpsError(f"azure.min_replicas={target.min_replicas} must be between 0 and azure.max_replicas={target.max_replicas}", code=2)
    if target.concurrency_target < 1:
        raise OpsError(f"--concurrency-target={target.concurrency_target} must be at least 1 concurrent request per replica", code=2)
    if target.metrics_port == target.port:
        raise OpsError(f"azure.metrics_port={target.metrics_port} must differ from azure.port: metrics stay off the public port", code=2)
    if "." not in target.registry:
        raise OpsError(f"azure.registry={target.registry!r} must be a login server such as {target.registry}.azurecr.io", code=2)


def with_subscription(target: AzureTarget, subscription: str) -> AzureTarget:
    """Return the target with another subscription id."""
    return replace(target, subscription=subscription)
