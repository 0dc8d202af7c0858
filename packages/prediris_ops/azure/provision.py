"""Create what `invoke deploy` needs, when it is missing, and say what was created or found.

In order: the resource group; the container registry (its name is global, so a taken one is reported
before anything else is created); a Log Analytics workspace and the Container Apps environment that
sends logs to it (a workload-profiles environment with the Consumption profile, the type Microsoft
recommends; an environment without profiles cannot run an app that names its profile, so one found
without ours stops provision with the fix); a user-assigned identity, and its AcrPull role on the registry so the app pulls
images without a password. Every step reads first, so running it again creates nothing.
"""

import uuid
from collections.abc import Callable

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.mgmt.appcontainers import models as app_models
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters  # the client's API version
from azure.mgmt.containerregistry import models as registry_models
from azure.mgmt.loganalytics import models as workspace_models
from azure.mgmt.msi.models import Identity

from prediris_ops.azure.clients import AzureClients
from prediris_ops.azure.errors import AzureError
from prediris_ops.azure.target import AzureTarget

# The built-in AcrPull role (the same id in every tenant).
ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
TAGS = {"app": "prediris"}
Log = Callable[[str], None]


def plan(target: AzureTarget) -> list[str]:
    """Return what provision would check and create, in order (for --dry-run)."""
    return [
        "plan (dry run: no credentials, no network); each resource is read first and created only when missing:",
        f"  resource group      {target.group_id}  ({target.location})",
        f"  container registry  {target.registry_id}  (sku {target.registry_sku}, login server {target.registry}, admin user off)",
        f"  log workspace       {target.workspace_id}  (PerGB2018, 30 days)",
        f"  apps environment    {target.environment_id}  (workload profile {target.workload_profile}; logs → the workspace)",
        f"  pull identity       {target.identity_id}",
        f"  role assignment     AcrPull for that identity on the registry ({ACR_PULL_ROLE})",
    ]


def _workload_profile(target: AzureTarget) -> app_models.WorkloadProfile:
    """Return the profile the app runs on: Consumption (serverless, billed per use) unless configured otherwise."""
    if target.workload_profile.lower() == "consumption":
        return app_models.WorkloadProfile(name=target.workload_profile, workload_profile_type="Consumption")
    raise AzureError(
        f"azure.workload_profile={target.workload_profile!r}: provision creates only the Consumption profile; "
        "add a dedicated profile to the environment yourself, or set azure.workload_profile to Consumption"
    )


def _check_workload_profile(environment: app_models.ManagedEnvironment, target: AzureTarget) -> None:
    names = [profile.name.lower() for profile in (environment.properties.workload_profiles if environment.properties else None) or []]
    if target.workload_profile.lower() not in names:
        kind = f"has the workload profiles {names}" if names else "is Consumption-only (no workload profiles)"
        raise AzureError(
            f"the apps environment {target.environment} {kind}, but the app runs on the {target.workload_profile} profile: "
            "set azure.environment to a new name (provision creates it with workload profiles) or add the profile to it"
        )


def _get(getter, *args):
    try:
        return getter(*args)
    except ResourceNotFoundError:
        return None


def _report(log: Log, what: str, created: bool, detail: str) -> tuple[str, str]:
    log(f"{'created' if created else 'found  '}  {what:<19} {detail}")
    return (what, "created" if created else "found")


def role_assignment_name(scope: str, principal_id: str, role: str = ACR_PULL_ROLE) -> str:
    """Return a stable name for the assignment, so a re-run addresses the same one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope.lower()}|{principal_id}|{role}"))


def provision(clients: AzureClients, target: AzureTarget, log: Log = print) -> list[tuple[str, str]]:
    """Create the missing resources; return (resource, "created" | "found") for each."""
    group, location = target.resource_group, target.location
    report = []

    # The registry name is global: find out whether it is ours or taken before creating anything.
    registry = _get(clients.registries.registries.get, group, target.registry_name)
    if registry is None:
        check = clients.registries.registries.check_name_availability(
            registry_models.RegistryNameCheckRequest(name=target.registry_name, type="Microsoft.ContainerRegistry/registries")
        )
        if not check.name_available:
            raise AzureError(
                f"the registry name {target.registry_name} is already taken ({check.reason}: {check.message}): registry names are "
                "global; set azure.registry to another <name>.azurecr.io in invoke.yaml (or INVOKE_AZURE_REGISTRY)"
            )

    existing = _get(clients.resources.resource_groups.get, group)
    if existing is None:
        clients.resources.resource_groups.create_or_update(group, {"location": location, "tags": TAGS})
    report.append(_report(log, "resource group", existing is None, group))

    created = registry is None
    if created:
        sku = registry_models.Sku(name=target.registry_sku)
        new_registry = registry_models.Registry(
            location=location, sku=sku, tags=TAGS, properties=registry_models.RegistryProperties(admin_user_enabled=False)
        )
        clients.registries.registries.begin_create(group, target.registry_name, new_registry).result()
    report.append(_report(log, "container registry", created, target.registry))

    workspace = _get(clients.workspaces.workspaces.get, group, target.workspace)
    created = workspace is None
    if created:
        workspace = clients.workspaces.workspaces.begin_create_or_update(
            group,
            target.workspace,
            workspace_models.Workspace(
                location=location,
                tags=TAGS,
                properties=workspace_models.WorkspaceProperties(sku=workspace_models.WorkspaceSku(name="PerGB2018"), retention_in_days=30),
            ),
        ).result()
    report.append(_report(log, "log workspace", created, target.workspace))

    environment = _get(clients.apps.managed_environments.get, group, target.environment)
    created = environment is None
    if not created:
        _check_workload_profile(environment, target)
    if created:
        keys = clients.workspaces.shared_keys.get_shared_keys(group, target.workspace)
        environment = clients.apps.managed_environments.begin_create_or_update(
            group,
            target.environment,
            app_models.ManagedEnvironment(
                location=location,
                tags=TAGS,
                properties=app_models.ManagedEnvironmentProperties(
                    workload_profiles=[_workload_profile(target)],
                    app_logs_configuration=app_models.AppLogsConfiguration(
                        destination="log-analytics",
                        log_analytics_configuration=app_models.LogAnalyticsConfiguration(
                            customer_id=workspace.customer_id,
                            shared_key=keys.primary_shared_key,
                        ),
                    ),
                ),
            ),
        ).result()
    report.append(_report(log, "apps environment", created, target.environment))

    identity = _get(clients.identities.user_assigned_identities.get, group, target.identity)
    created = identity is None
    if created:
        identity = clients.identities.user_assigned_identities.create_or_update(
            group, target.identity, Identity(location=location, tags=TAGS)
        )
    report.append(_report(log, "pull identity", created, f"{target.identity} (principal {identity.principal_id})"))

    scope = target.registry_id
    name = role_assignment_name(scope, identity.principal_id)
    assignment = _get(clients.authorization.role_assignments.get, scope, name)
    created = False
    if assignment is None:
        parameters = RoleAssignmentCreateParameters(
            role_definition_id=f"/subscriptions/{target.subscription}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE}",
            principal_id=identity.principal_id,
            # Saying what the principal is lets Azure accept an identity created seconds ago.
            principal_type="ServicePrincipal",
        )
        try:
            clients.authorization.role_assignments.create(scope, name, parameters)
            created = True
        except ResourceExistsError:
            pass  # assigned earlier under another name (e.g. by hand): what we need is there
    report.append(_report(log, "role assignment", created, f"AcrPull on {target.registry_name} for {target.identity}"))
    return report
