"""Fixtures for the Azure tests: the ARM stand-in, a target aimed at it, SDK clients, a live API."""

import pytest

from prediris_ops.azure.clients import AzureClients
from prediris_ops.azure.target import AzureTarget
from tests.support.arm_standin import SUBSCRIPTION, ArmStandIn
from tests.support.servers import running_api

IMAGE = "efreiprediction.azurecr.io/efreiprediris@sha256:" + "ab" * 32
OTHER_IMAGE = "efreiprediction.azurecr.io/efreiprediris@sha256:" + "cd" * 32


@pytest.fixture
def arm():
    """A fresh ARM stand-in (HTTPS, its own CA) per test."""
    with ArmStandIn() as standin:
        yield standin


def make_target(arm, **changes) -> AzureTarget:
    values = {
        "subscription": SUBSCRIPTION,
        "resource_group": "prediris",
        "location": "francecentral",
        "registry": "efreiprediction.azurecr.io",
        "image": "efreiprediris",
        "app": "prediris",
        "environment": "prediris-env",
        "workspace": "prediris-logs",
        "identity": "prediris-acr-pull",
        "cpu": 0.5,
        "memory": "1Gi",
        "min_replicas": 1,
        "max_replicas": 10,
        "concurrency_target": 10,
        "port": 5000,
        "arm_endpoint": arm.url,
        "poll_seconds": 0.01,
        "revision_timeout": 30.0,
    }
    values.update(changes)
    return AzureTarget(**values)


@pytest.fixture
def target(arm):
    return make_target(arm)


@pytest.fixture
def make_clients():
    """Return a factory of SDK clients aimed at the stand-in (trusting its CA; retries back off briefly),
    closing every one at the end of the test."""
    made: list[AzureClients] = []

    def factory(arm, target, credential=None) -> AzureClients:
        clients = AzureClients(target, credential or arm.credential(), connection_verify=arm.ca_path, retry_backoff_factor=0.01)
        made.append(clients)
        return clients

    yield factory
    for clients in made:
        clients.close()


@pytest.fixture
def clients(arm, target, make_clients):
    return make_clients(arm, target)


@pytest.fixture
def provisioned(arm, target):
    """The stand-in holding what deploy relies on: the resource group, environment and pull identity."""
    for path in (target.group_id, target.identity_id):
        arm.put_resource(path, {"location": target.location})
    profiles = [{"name": "Consumption", "workloadProfileType": "Consumption"}]
    arm.put_resource(target.environment_id, {"location": target.location, "properties": {"workloadProfiles": profiles}})
    return arm


@pytest.fixture(scope="module")
def live_api(model_dir, tmp_path_factory):
    """The real API on a free port: the 'live URL' deploy smoke-tests."""
    with running_api(model_dir, tmp_path_factory.mktemp("api") / "api.log", shutdown_grace_seconds=1) as (base_url, _process):
        yield base_url
