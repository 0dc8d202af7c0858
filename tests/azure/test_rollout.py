"""`invoke deploy`'s rollout through the real Azure SDK against the ARM stand-in: the exact requests,
the smoke test of the live URL, idempotence, and the rollback of traffic when a revision fails."""

import pytest

from prediris_ops.azure import rollout
from prediris_ops.azure.errors import AzureError
from tests.azure.conftest import IMAGE, OTHER_IMAGE, make_target

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("provisioned")]
APP = "/resourcegroups/prediris/providers/microsoft.app/containerapps/prediris"


def deploy(clients, target, image, sha, url):
    lines: list[str] = []
    result = rollout.deploy(clients, target, image, sha, smoke_url=url, log=lines.append)
    return result, lines


def writes(arm, since=0):
    return [(r.method, r.key.split("/providers/microsoft.app/")[-1]) for r in arm.writes()[since:]]


def test_the_first_deploy_puts_the_complete_app_then_smoke_tests_the_live_url(arm, clients, target, live_api):
    result, lines = deploy(clients, target, IMAGE, "abc1234", live_api)

    [put] = arm.requests_to("PUT", APP + "$")
    body = put.json()
    template = body["properties"]["template"]
    [container] = template["containers"]
    assert container["image"] == IMAGE  # by digest, never a mutable tag
    assert container["resources"] == {"cpu": 0.5, "memory": "1Gi"}
    assert template["scale"] == {
        "minReplicas": 1,
        "maxReplicas": 10,
        "rules": [{"name": "http-concurrency", "http": {"metadata": {"concurrentRequests": "10"}}}],
    }
    assert {(p["type"], p["httpGet"]["path"], p["httpGet"]["port"]) for p in container["probes"]} == {
        ("Startup", "/health/live", 5000),
        ("Liveness", "/health/live", 5000),
        ("Readiness", "/health/ready", 5000),
    }
    assert template["revisionSuffix"].startswith("abc1234-")
    configuration = body["properties"]["configuration"]
    assert configuration["registries"] == [{"server": "efreiprediction.azurecr.io", "identity": target.identity_id}]
    assert body["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {target.identity_id: {}}}
    assert configuration["ingress"]["external"] is True
    assert configuration["ingress"]["targetPort"] == 5000
    assert configuration["activeRevisionsMode"] == "Multiple"
    assert body["properties"]["environmentId"] == target.environment_id
    assert "managedEnvironmentId" not in body["properties"]  # deprecated in the Microsoft.App REST specification
    assert body["properties"]["workloadProfileName"] == "Consumption"
    # /metrics on its own port, reachable from the environment's network only.
    assert configuration["ingress"]["additionalPortMappings"] == [{"external": False, "targetPort": 9464}]
    assert {"name": "PREDIRIS_METRICS_PORT", "value": "9464"} in container["env"]
    assert "secrets" not in configuration and all("secretRef" not in variable for variable in container["env"])

    assert writes(arm) == [("PUT", "containerapps/prediris")]
    assert result.revision == f"prediris--{template['revisionSuffix']}"
    assert result.changed and result.previous is None and result.url == live_api
    assert f"smoke test of {live_api}:" in lines
    assert any(line.strip().startswith("ok   predicts virginica") for line in lines)
    assert any(f"revision {result.revision}: Provisioned, health Healthy" in line for line in lines)


def test_the_concurrency_target_and_replica_bounds_reach_the_scale_rule(arm, make_clients, live_api):
    target = make_target(arm, concurrency_target=25, min_replicas=2, max_replicas=30)
    arm.requests.clear()
    deploy(make_clients(arm, target), target, IMAGE, "abc1234", live_api)
    scale = arm.requests_to("PUT", APP + "$")[0].json()["properties"]["template"]["scale"]
    assert scale["rules"][0]["http"]["metadata"] == {"concurrentRequests": "25"}
    assert (scale["minReplicas"], scale["maxReplicas"]) == (2, 30)


def test_a_second_deploy_of_the_same_image_changes_nothing(arm, clients, target, live_api):
    first, _ = deploy(clients, target, IMAGE, "abc1234", live_api)
    before = len(arm.writes())
    second, lines = deploy(clients, target, IMAGE, "abc1234", live_api)
    assert arm.writes()[before:] == []
    assert not second.changed and second.revision == first.revision
    assert lines[1] == f"unchanged: {first.revision} already runs {IMAGE} with 100 % of the traffic"


def test_a_new_commit_gets_a_new_revision_and_the_old_one_is_retired(arm, clients, target, live_api):
    first, _ = deploy(clients, target, IMAGE, "abc1234", live_api)
    before = len(arm.writes())
    second, _ = deploy(clients, target, OTHER_IMAGE, "def5678", live_api)
    assert second.previous == first.revision and second.revision.startswith("prediris--def5678-")
    assert writes(arm, before) == [
        ("PUT", "containerapps/prediris"),
        ("POST", f"containerapps/prediris/revisions/{first.revision}/deactivate"),
    ]
    revisions = {r["name"]: r["properties"] for r in arm.resources.values() if r["type"].endswith("/revisions")}
    assert revisions[second.revision]["trafficWeight"] == 100 and revisions[second.revision]["active"]
    assert not revisions[first.revision]["active"]


def test_an_unhealthy_revision_sends_traffic_back_to_the_previous_one(arm, clients, target, live_api):
    first, _ = deploy(clients, target, IMAGE, "abc1234", live_api)
    before = len(arm.writes())
    arm.new_revisions_become = "Unhealthy"
    with pytest.raises(AzureError) as raised:
        deploy(clients, target, OTHER_IMAGE, "def5678", live_api)
    new = arm.requests_to("PUT", APP + "$")[-1].json()["properties"]["template"]["revisionSuffix"]
    new = f"prediris--{new}"
    assert str(raised.value) == (
        f"deploy of {new} failed: revision {new} is Unhealthy (its probes on /health/live and /health/ready fail); "
        f"traffic rolled back to {first.revision}, {new} deactivated"
    )
    assert writes(arm, before) == [
        ("PUT", "containerapps/prediris"),
        ("PATCH", "containerapps/prediris"),
        ("POST", f"containerapps/prediris/revisions/{new}/deactivate"),
    ]
    patch = arm.requests_to("PATCH", APP + "$")[0].json()
    assert patch == {"properties": {"configuration": {"ingress": {"traffic": [{"revisionName": first.revision, "weight": 100}]}}}}
    revisions = {r["name"]: r["properties"] for r in arm.resources.values() if r["type"].endswith("/revisions")}
    assert revisions[first.revision]["trafficWeight"] == 100 and revisions[first.revision]["active"]
    assert revisions[new]["trafficWeight"] == 0 and not revisions[new]["active"]


def test_a_failing_smoke_test_of_the_live_url_rolls_back(arm, clients, target, live_api):
    first, _ = deploy(clients, target, IMAGE, "abc1234", live_api)
    with pytest.raises(AzureError, match=rf"smoke checks failed \(GET /health/live: .*\); traffic rolled back to {first.revision}"):
        deploy(clients, target, OTHER_IMAGE, "def5678", "http://127.0.0.1:9")
    patch = arm.requests_to("PATCH", APP + "$")[0].json()
    assert patch["properties"]["configuration"]["ingress"]["traffic"] == [{"revisionName": first.revision, "weight": 100}]


def test_a_revision_that_never_provisions_is_reported_with_azures_reason(arm, clients, target, live_api):
    first, _ = deploy(clients, target, IMAGE, "abc1234", live_api)
    arm.new_revisions_become = "Failed"
    with pytest.raises(AzureError, match=rf"failed to provision: container crashed: exit 1; traffic rolled back to {first.revision}"):
        deploy(clients, target, OTHER_IMAGE, "def5678", live_api)


def test_a_failing_first_revision_has_nothing_to_roll_back_to(arm, clients, target, live_api):
    arm.new_revisions_become = "Unhealthy"
    with pytest.raises(AzureError, match=r"is Unhealthy .*; no previous revision to roll back to; prediris--abc1234-\w+ deactivated$"):
        deploy(clients, target, IMAGE, "abc1234", live_api)
    assert not arm.requests_to("PATCH", APP)


def test_api_keys_become_a_secret_the_container_reads_by_reference(arm, clients, target, live_api):
    _, lines = deploy_with_keys(clients, target, "key-one-0123456789,key-two-0123456789", live_api)

    body = arm.requests_to("PUT", APP + "$")[0].json()
    assert body["properties"]["configuration"]["secrets"] == [{"name": "api-keys", "value": "key-one-0123456789,key-two-0123456789"}]
    [container] = body["properties"]["template"]["containers"]
    assert {"name": "PREDIRIS_API_KEYS", "secretRef": "api-keys"} in container["env"]
    assert "key-one-0123456789" not in "\n".join(lines)
    # Azure shows the secret's name, never its value, on a read.
    assert arm.resource(target.app_id)["properties"]["configuration"]["secrets"][0]["value"] == "key-one-0123456789,key-two-0123456789"
    assert clients.apps.container_apps.get("prediris", "prediris").properties.configuration.secrets[0].value is None

    before = len(arm.writes())
    again, _ = deploy_with_keys(clients, target, "key-one-0123456789,key-two-0123456789", live_api)
    assert not again.changed and arm.writes()[before:] == []


def test_new_api_keys_alone_update_the_secret_and_restart_the_revision(arm, clients, target, live_api):
    first, _ = deploy_with_keys(clients, target, "key-one-0123456789", live_api)
    before = len(arm.writes())
    second, lines = deploy_with_keys(clients, target, "key-two-0123456789", live_api)
    assert second.revision == first.revision and second.changed
    assert writes(arm, before) == [
        ("PUT", "containerapps/prediris"),
        ("POST", f"containerapps/prediris/revisions/{first.revision}/restart"),
    ]
    assert arm.requests_to("PUT", APP + "$")[-1].json()["properties"]["configuration"]["secrets"] == [
        {"name": "api-keys", "value": "key-two-0123456789"}
    ]
    assert f"restarting {first.revision}: its secrets changed" in lines and "key-two-0123456789" not in "\n".join(lines)


def deploy_with_keys(clients, target, keys, url):
    lines: list[str] = []
    result = rollout.deploy(clients, target, IMAGE, "abc1234", smoke_url=url, api_keys=keys, log=lines.append)
    return result, lines


def test_the_dry_run_plan_shows_the_complete_resource_without_network(arm, target):
    lines = rollout.plan(target, IMAGE, "abc1234")
    assert arm.requests == []
    text = "\n".join(lines)
    assert '"concurrentRequests": "10"' in text and '"path": "/health/ready"' in text and IMAGE in text
    assert "failure: PATCH" in text
    assert "managedEnvironmentId" not in text and '"environmentId"' in text


def test_the_dry_run_plan_names_where_the_keys_come_from_and_hides_the_secret(arm, target, monkeypatch):
    monkeypatch.setenv("DEPLOY_KEYS", "real-key-0123456789")
    text = "\n".join(rollout.plan(target, IMAGE, "abc1234", api_keys_from="DEPLOY_KEYS"))
    assert "API keys: $DEPLOY_KEYS → the Container Apps secret api-keys → env PREDIRIS_API_KEYS (secretRef)" in text
    assert '"secretRef": "api-keys"' in text and '"value": "<hidden>"' in text and "real-key-0123456789" not in text


def test_a_deploy_without_keys_says_in_one_line_that_predictions_are_public_and_how_to_require_keys(arm, clients, target, live_api):
    _, lines = deploy(clients, target, IMAGE, "abc1234", live_api)
    assert lines[0] == (
        "API keys: none: /predict and V2 inference will answer anyone who reaches the app; to require keys, export them "
        "(comma-separated, 16+ characters each) in a variable and deploy with --api-keys-from-env VARIABLE"
    )
    _, keyed = deploy_with_keys(clients, target, "key-one-0123456789", live_api)
    assert not [line for line in keyed if line.startswith("API keys: none")]


def test_a_key_the_service_would_refuse_is_refused_before_anything_is_deployed(arm, clients, target, live_api):
    with pytest.raises(
        AzureError, match=r"^not deployed, its replicas would refuse to start: PREDIRIS_API_KEYS: key 2 of 2 is shorter than 16"
    ):
        deploy_with_keys(clients, target, "key-one-0123456789,short-key", live_api)
    assert arm.writes() == []
