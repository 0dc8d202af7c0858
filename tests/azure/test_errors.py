"""Each Azure error a user meets becomes ONE line naming the fix, through the real SDK and the stand-in."""

import pytest
from azure.identity import ChainedTokenCredential, EnvironmentCredential
from invoke import Config

from prediris_ops.azure import provision, registry, rollout
from prediris_ops.azure.clients import RETRIES
from prediris_ops.azure.errors import azure_errors
from prediris_ops.azure.target import target_from_config
from prediris_ops.core.errors import OpsError
from tests.azure.conftest import IMAGE, make_target
from tests.support.arm_standin import ArmStandIn
from tests.support.config import project_config

pytestmark = pytest.mark.e2e
GROUP = r"/resourcegroups/prediris$"


def one_line(action) -> str:
    """Run `action` inside azure_errors and return the message of the AzureError it raises."""
    with pytest.raises(OpsError) as raised, azure_errors("francecentral"):
        action()
    message = raised.value.message
    assert "\n" not in message and "Traceback" not in message
    assert raised.value.code == 1
    return message


def create_group(clients):
    return clients.resources.resource_groups.create_or_update("prediris", {"location": "francecentral"})


def test_not_logged_in_says_how_on_a_laptop_and_in_ci(arm, target, make_clients, monkeypatch):
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_USERNAME", "AZURE_CLIENT_CERTIFICATE_PATH"):
        monkeypatch.delenv(name, raising=False)
    nobody = ChainedTokenCredential(EnvironmentCredential())
    message = one_line(lambda: create_group(make_clients(arm, target, nobody)))
    assert message.startswith("not logged in to Azure (")
    assert "`az login`" in message and "AZURE_CLIENT_ID, AZURE_TENANT_ID" in message and "id-token: write" in message
    assert arm.requests == []


def test_a_token_azure_rejects_says_to_sign_in_again(arm, target, make_clients):
    class Expired:
        def get_token(self, *scopes, **kwargs):
            from azure.core.credentials import AccessToken

            return AccessToken("expired-token", 4102444800)

    message = one_line(lambda: create_group(make_clients(arm, target, Expired())))
    assert message.startswith(
        "Azure rejected the credential (HTTP 401 InvalidAuthenticationToken: The access token is invalid.): sign in again"
    )


def test_no_subscription_selected_names_the_variable(monkeypatch):
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    config: Config = project_config()
    with pytest.raises(
        OpsError, match=r"^no Azure subscription selected: set AZURE_SUBSCRIPTION_ID \(laptop: `az account show --query id -o tsv`"
    ):
        target_from_config(config)


def test_an_unknown_subscription_is_named(arm, make_clients):
    target = make_target(arm, subscription="99999999-0000-0000-0000-000000000000")
    message = one_line(lambda: create_group(make_clients(arm, target)))
    assert message.startswith(
        "subscription not found or not visible to this identity (The subscription '99999999-0000-0000-0000-000000000000'"
    )
    assert "check AZURE_SUBSCRIPTION_ID" in message


def test_a_missing_permission_names_the_role_and_the_scope(arm, clients, target):
    scope = f"/subscriptions/{target.subscription}/resourceGroups/prediris"
    arm.fail(
        "PUT",
        GROUP,
        403,
        "AuthorizationFailed",
        f"The client 'ci@prediris' with object id '42' does not have authorization to perform action "
        f"'Microsoft.Resources/subscriptions/resourcegroups/write' over scope '{scope}' or the scope is invalid. "
        "If access was recently granted, please refresh your credentials.",
    )
    assert one_line(lambda: create_group(clients)) == (
        f"permission denied: this identity may not Microsoft.Resources/subscriptions/resourcegroups/write on {scope}: "
        f'grant it the Contributor role on that scope (`az role assignment create --assignee <its object id> --role "Contributor" --scope {scope}`)'
    )


def test_assigning_acrpull_without_rights_asks_for_user_access_administrator(arm, clients, target):
    arm.fail(
        "PUT",
        "/roleassignments/",
        403,
        "AuthorizationFailed",
        f"The client 'ci' with object id '42' does not have authorization to perform action "
        f"'Microsoft.Authorization/roleAssignments/write' over scope '{target.registry_id}' or the scope is invalid.",
    )
    message = one_line(lambda: provision.provision(clients, target, log=lambda line: None))
    assert "grant it the User Access Administrator (or Owner) role on that scope" in message
    assert target.registry_id in message


def test_a_quota_says_where_and_what_to_change(arm, clients, target):
    arm.fail(
        "PUT",
        r"/managedenvironments/",
        409,
        "MaxNumberOfRegionalEnvironmentsInSubExceeded",
        "The subscription has reached its limit of 15 environments in France Central.",
    )
    message = one_line(lambda: provision.provision(clients, target, log=lambda line: None))
    assert message.startswith(
        "quota or capacity reached in francecentral (MaxNumberOfRegionalEnvironmentsInSubExceeded: The subscription has reached"
    )
    assert "choose another azure.location" in message


def test_a_taken_registry_name_is_one_line(arm, clients, target):
    arm.taken_registry_names.add("efreiprediction")
    message = one_line(lambda: provision.provision(clients, target, log=lambda line: None))
    assert message.startswith("the registry name efreiprediction is already taken")


def test_throttling_is_retried_after_the_servers_retry_after(arm, clients):
    arm.fail("PUT", GROUP, 429, "TooManyRequests", "Rate limit exceeded.", times=2, headers={"Retry-After": "1"})
    create_group(clients)
    attempts = arm.requests_to("PUT", GROUP)
    assert len(attempts) == 3
    # Azure said "1 second": the SDK waited at least that (a lower bound, not a speed claim).
    assert attempts[1].received_at - attempts[0].received_at >= 1.0
    assert arm.resource("/subscriptions/" + attempts[0].key.split("/")[2] + "/resourcegroups/prediris") is not None


def test_throttling_that_outlasts_the_retries_says_when_to_come_back(arm, clients):
    arm.fail("PUT", GROUP, 429, "TooManyRequests", "Rate limit exceeded.", times=100)
    message = one_line(lambda: create_group(clients))
    assert message == (
        f"Azure throttled PUT /subscriptions/{clients.target.subscription}/resourcegroups/prediris (HTTP 429 TooManyRequests) "
        f"and {RETRIES} retries honouring Retry-After did not clear it: wait a few minutes and run again"
    )
    assert len(arm.requests_to("PUT", GROUP)) == RETRIES + 1


def test_a_server_fault_is_retried_then_reported(arm, clients):
    arm.fail("PUT", GROUP, 500, "InternalServerError", "Something went wrong.", times=100)
    message = one_line(lambda: create_group(clients))
    assert message.startswith(
        f"Azure failed on PUT /subscriptions/{clients.target.subscription}/resourcegroups/prediris (HTTP 500 InternalServerError: Something went wrong.) after {RETRIES} retries"
    )


def test_a_deploy_without_provisioning_says_to_provision(arm, clients, target):
    message = one_line(lambda: rollout.deploy(clients, target, IMAGE, "abc1234", smoke_url="http://127.0.0.1:9", log=lambda line: None))
    assert message == "Resource group 'prediris' could not be found.: run `invoke provision` first"


def test_a_failed_long_running_operation_carries_azures_reason(arm, clients, target):
    arm.fail_operation(r"/managedenvironments/", "ManagedEnvironmentProvisioningError", "The subnet is too small.")
    message = one_line(lambda: provision.provision(clients, target, log=lambda line: None))
    assert "ManagedEnvironmentProvisioningError" in message and "The subnet is too small." in message


def test_a_registry_refusing_the_token_asks_for_acrpush():
    with ArmStandIn(tls=False) as acr:
        login_server = acr.netloc
        message = one_line(lambda: registry.refresh_token(login_server, "a-token-acr-does-not-accept"))
    assert message == (
        f"{login_server} refused this identity's Entra ID token (HTTP 401): give it the AcrPush role on the registry "
        "(`invoke provision` does for the app's pull identity; for CI: az role assignment create --role AcrPush …)"
    )
