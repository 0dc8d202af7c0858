"""The Container App resource and the deploy target: revision suffixes, configuration precedence, ACR URLs."""

import dataclasses

import pytest

from prediris_ops.azure import containerapp, registry
from prediris_ops.azure.target import SUBSCRIPTION_PLACEHOLDER, target_from_config
from prediris_ops.core.errors import OpsError
from tests.azure.conftest import IMAGE, OTHER_IMAGE
from tests.support.config import project_config


@pytest.fixture
def target(monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub-from-env")
    return target_from_config(project_config())


def test_the_target_follows_the_seed_and_reads_the_subscription_from_the_environment(target):
    assert (target.registry, target.image, target.port) == ("efreiprediction.azurecr.io", "efreiprediris", 5000)
    assert target.subscription == "sub-from-env"
    assert (
        target.registry_id
        == "/subscriptions/sub-from-env/resourceGroups/prediris/providers/Microsoft.ContainerRegistry/registries/efreiprediction"
    )


def test_flags_beat_configuration_which_beats_the_environment(monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub-from-env")
    config = project_config(azure={"subscription": "sub-from-config", "concurrency_target": 15})
    target = target_from_config(config, concurrency_target="40", app=None)
    assert (target.subscription, target.concurrency_target, target.app) == ("sub-from-config", 40, "prediris")


def test_a_dry_run_needs_no_subscription(monkeypatch):
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    target = target_from_config(project_config(), require_subscription=False)
    assert target.subscription == SUBSCRIPTION_PLACEHOLDER and not target.has_subscription


def test_a_registry_that_is_not_a_login_server_is_refused(monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "s")
    with pytest.raises(OpsError, match=r"azure.registry='efreiprediction' must be a login server such as efreiprediction.azurecr.io"):
        target_from_config(project_config(azure={"registry": "efreiprediction"}))


def test_the_revision_suffix_is_the_git_sha_and_changes_only_with_the_template(target):
    suffix = containerapp.revision_suffix(target, IMAGE, "ABC1234")
    assert suffix.startswith("abc1234-") and suffix == containerapp.revision_suffix(target, IMAGE, "abc1234")
    assert containerapp.revision_suffix(target, OTHER_IMAGE, "abc1234") != suffix
    bigger = dataclasses.replace(target, max_replicas=20)
    assert containerapp.revision_suffix(bigger, IMAGE, "abc1234") != suffix


@pytest.mark.parametrize(
    ("login_server", "url"),
    [
        ("efreiprediction.azurecr.io", "https://efreiprediction.azurecr.io/oauth2/exchange"),
        ("127.0.0.1:5001", "http://127.0.0.1:5001/oauth2/exchange"),
        ("localhost:5001", "http://localhost:5001/oauth2/exchange"),
        ("10.0.0.4:5001", "https://10.0.0.4:5001/oauth2/exchange"),
    ],
)
def test_the_token_exchange_is_https_except_on_loopback_as_in_docker(login_server, url):
    assert registry.exchange_url(login_server) == url


def test_the_tenant_comes_from_the_token(monkeypatch):
    monkeypatch.delenv("AZURE_TENANT_ID", raising=False)
    token = "e30." + "eyJ0aWQiOiAidGVuYW50LTEyMyJ9" + ".sig"  # {"tid": "tenant-123"}
    assert registry.tenant_of(token) == "tenant-123"
    assert registry.tenant_of("not-a-jwt") is None


def test_the_metrics_port_must_not_be_the_public_port(monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "s")
    with pytest.raises(OpsError, match=r"^azure.metrics_port=5000 must differ from azure.port: metrics stay off the public port$"):
        target_from_config(project_config(azure={"metrics_port": 5000}))
