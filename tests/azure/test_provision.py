"""`invoke provision` through the real Azure SDK against the ARM stand-in: what it creates, in which
order, with which bodies; a second run creates nothing; a taken registry name stops it early."""

import pytest
from azure.core.exceptions import HttpResponseError

from prediris_ops.azure import provision, rollout
from prediris_ops.azure.errors import AzureError
from tests.azure.conftest import IMAGE

pytestmark = pytest.mark.e2e
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def run(clients, target):
    lines: list[str] = []
    return provision.provision(clients, target, log=lines.append), lines


def test_an_empty_subscription_gets_everything_deploy_needs_in_order(arm, clients, target):
    report, lines = run(clients, target)
    assert report == [
        ("resource group", "created"),
        ("container registry", "created"),
        ("log workspace", "created"),
        ("apps environment", "created"),
        ("pull identity", "created"),
        ("role assignment", "created"),
    ]
    assert [(r.method, r.key.split("/resourcegroups/")[-1]) for r in arm.writes()] == [
        ("PUT", "prediris"),
        ("PUT", "prediris/providers/microsoft.containerregistry/registries/efreiprediction"),
        ("PUT", "prediris/providers/microsoft.operationalinsights/workspaces/prediris-logs"),
        ("PUT", "prediris/providers/microsoft.app/managedenvironments/prediris-env"),
        ("PUT", "prediris/providers/microsoft.managedidentity/userassignedidentities/prediris-acr-pull"),
        (
            "PUT",
            f"prediris/providers/microsoft.containerregistry/registries/efreiprediction/providers/microsoft.authorization/roleassignments/{arm.writes()[-1].key.rsplit('/', 1)[1]}",
        ),
    ]
    registry = arm.requests_to("PUT", r"/registries/efreiprediction$")[0].json()
    assert registry["sku"] == {"name": "Basic"} and registry["properties"]["adminUserEnabled"] is False
    workspace = arm.resource(target.workspace_id)
    environment = arm.requests_to("PUT", r"/managedenvironments/prediris-env$")[0].json()
    assert environment["properties"]["appLogsConfiguration"] == {
        "destination": "log-analytics",
        "logAnalyticsConfiguration": {"customerId": workspace["properties"]["customerId"], "sharedKey": "c3RhbmQtaW4ta2V5"},
    }
    # A workload-profiles environment, with the Consumption profile the app names.
    assert environment["properties"]["workloadProfiles"] == [{"name": "Consumption", "workloadProfileType": "Consumption"}]
    identity = arm.resource(target.identity_id)
    role = arm.writes()[-1].json()["properties"]
    assert role == {
        "roleDefinitionId": f"/subscriptions/{target.subscription}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}",
        "principalId": identity["properties"]["principalId"],
        "principalType": "ServicePrincipal",
    }
    assert lines[0] == "created  resource group      prediris"


def test_a_second_run_finds_everything_and_changes_nothing(arm, clients, target):
    run(clients, target)
    before = len(arm.writes())
    report, lines = run(clients, target)
    assert {state for _, state in report} == {"found"}
    assert arm.writes()[before:] == []
    assert lines[-1] == "found    role assignment     AcrPull on efreiprediction for prediris-acr-pull"


def test_a_registry_name_taken_elsewhere_stops_before_creating_anything_else(arm, clients, target):
    arm.taken_registry_names.add("efreiprediction")
    with pytest.raises(
        AzureError,
        match=r"^the registry name efreiprediction is already taken \(AlreadyExists: .*\): registry names are global; set azure.registry",
    ):
        run(clients, target)
    assert arm.writes() == []


def test_an_acr_pull_assignment_made_by_hand_counts_as_found(arm, clients, target):
    run(clients, target)
    [ours] = arm.requests_to("PUT", "/roleassignments/")
    body = arm.resource(ours.path)
    del arm.resources[ours.key]
    arm.put_resource(ours.path.rsplit("/", 1)[0] + "/assigned-by-hand", {"properties": body["properties"]})
    report, _ = run(clients, target)
    assert report[-1] == ("role assignment", "found")
    assert arm.requests_to("PUT", "/roleassignments/")[-1].key == ours.key  # tried ours, got 409 RoleAssignmentExists


def test_a_consumption_only_environment_found_stops_provision_with_the_fix(arm, clients, target):
    arm.put_resource(target.group_id, {"location": target.location})
    arm.put_resource(target.environment_id, {"location": target.location, "properties": {}})
    with pytest.raises(
        AzureError,
        match=r"^the apps environment prediris-env is Consumption-only \(no workload profiles\), but the app runs on the Consumption "
        r"profile: set azure.environment to a new name",
    ):
        run(clients, target)


def test_the_app_cannot_name_a_profile_its_environment_lacks(arm, clients, target, live_api):
    run(clients, target)
    arm.put_resource(target.environment_id, {"location": target.location, "properties": {"workloadProfiles": []}})
    with pytest.raises(HttpResponseError, match="WorkloadProfileNotFound"):
        rollout.deploy(clients, target, IMAGE, "abc1234", smoke_url=live_api, log=lambda line: None)
