"""`invoke deploy`, `invoke provision`: run as a user or a CI job runs them (the `invoke` program in a
subprocess), the CI's workload-identity login included, against the ARM and Entra ID stand-in."""

import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from prediris_ops.azure import registry
from prediris_ops.core.paths import ROOT
from tests.support.arm_standin import SUBSCRIPTION, TENANT

DIGEST = "sha256:" + "ef" * 32
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "INVOKE_AZURE_"))}
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=300
    )


def resource_json(output: str) -> dict:
    return json.loads(output[output.index("\n{", output.index("body of step 2")) :])


def test_deploy_dry_run_prints_the_plan_and_the_complete_resource_without_credentials(tmp_path):
    result = invoke("deploy", "--dry-run", "--concurrency-target", "30", env={"INVOKE_AZURE_PUSH_RECORD": str(tmp_path / "none.json")})
    assert result.returncode == 0, result.stderr
    assert "plan (dry run: no credentials, no network):" in result.stdout
    resource = resource_json(result.stdout)
    template = resource["properties"]["template"]
    assert template["containers"][0]["image"] == "efreiprediction.azurecr.io/efreiprediris@sha256:<digest recorded by invoke push>"
    assert template["scale"]["rules"][0]["http"]["metadata"] == {"concurrentRequests": "30"}
    assert resource["properties"]["configuration"]["registries"][0]["server"] == "efreiprediction.azurecr.io"
    assert resource["properties"]["environmentId"].startswith("/subscriptions/<AZURE_SUBSCRIPTION_ID>/resourceGroups/prediris/")
    assert "managedEnvironmentId" not in result.stdout  # deprecated in the Microsoft.App REST specification
    assert resource["properties"]["configuration"]["ingress"]["additionalPortMappings"] == [{"external": False, "targetPort": 9464}]


def test_deploy_dry_run_shows_the_secret_reference_never_the_keys(tmp_path):
    env = {"INVOKE_AZURE_PUSH_RECORD": str(tmp_path / "none.json"), "SHOP_API_KEYS": "k-123-0123456789abc,k-456-0123456789abc"}
    result = invoke("deploy", "--dry-run", "--api-keys-from-env", "SHOP_API_KEYS", env=env)
    assert result.returncode == 0, result.stderr
    resource = resource_json(result.stdout)
    assert resource["properties"]["configuration"]["secrets"] == [{"name": "api-keys", "value": "<hidden>"}]
    assert {"name": "PREDIRIS_API_KEYS", "secretRef": "api-keys"} in resource["properties"]["template"]["containers"][0]["env"]
    assert "k-123" not in result.stdout + result.stderr


def test_a_canary_dry_run_prints_the_plan_and_every_traffic_body(tmp_path):
    result = invoke(
        "deploy", "--dry-run", "--canary", "20", "--canary-window", "2m", env={"INVOKE_AZURE_PUSH_RECORD": str(tmp_path / "n.json")}
    )
    assert result.returncode == 0, result.stderr
    out, previous = result.stdout, "<the revision serving now>"
    new = re.search(r"/revisions/(prediris--\S+)  \(until Provisioned", out).group(1)

    def traffic(step: str) -> list[dict]:
        line = out[out.index(step) :]
        body, _ = json.JSONDecoder().raw_decode(line[line.index("  {") + 2 :])
        return body["properties"]["configuration"]["ingress"]["traffic"]

    assert traffic("4. canary, 20 % of the traffic:") == [{"revisionName": new, "weight": 20}, {"revisionName": previous, "weight": 80}]
    assert traffic("6. promotion:") == [{"latestRevision": True, "weight": 100}]
    assert traffic("rollback:") == [{"revisionName": previous, "weight": 100}]
    assert resource_json(out)["properties"]["configuration"]["ingress"]["traffic"] == [{"revisionName": previous, "weight": 100}]
    assert "5. for 120 s, every 15 s: 5 probes of https://<its own fqdn>/health/ready (p95 ≤ 500 ms)" in out
    assert f"Microsoft.Insights/metrics (Requests, PT1M, Total, revisionName eq '{new}' and statusCodeCategory eq '*'; 5xx ≤ 1 %)" in out


def test_deploy_dry_run_shows_the_recorded_digest(tmp_path):
    record = tmp_path / "last-push.json"
    registry.record_push(record, registry.PushedImage("efreiprediction.azurecr.io", "efreiprediris", "abc1234", DIGEST, "abc1234", "now"))
    result = invoke("deploy", "--dry-run", env={"INVOKE_AZURE_PUSH_RECORD": str(record)})
    template = resource_json(result.stdout)["properties"]["template"]
    assert template["containers"][0]["image"] == f"efreiprediction.azurecr.io/efreiprediris@{DIGEST}"
    assert template["revisionSuffix"].startswith("abc1234-")


def test_provision_dry_run_lists_what_it_would_create():
    result = invoke("provision", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "role assignment     AcrPull for that identity on the registry" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy"], "no pushed image recorded in"),
        (["deploy", "--image", "efreiprediction.azurecr.io/efreiprediris:latest"], "is a mutable tag: pass a digest reference"),
        (["deploy", "--min-replicas", "5", "--max-replicas", "2"], "azure.min_replicas=5 must be between 0 and azure.max_replicas=2"),
        (["deploy", "--canary", "100"], "--canary=100 must be a percentage of the traffic between 1 and 99"),
        (
            ["deploy", "--canary", "10", "--canary-window", "soon"],
            "--canary-window='soon' is not a duration: a number of seconds, or e.g. 30s",
        ),
        (["deploy", "--api-keys-from-env", "NO_SUCH_VARIABLE"], "--api-keys-from-env NO_SUCH_VARIABLE: that environment variable is empty"),
    ],
)
def test_bad_input_stops_deploy_with_one_line(tmp_path, args, message):
    result = invoke(*args, env={"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "INVOKE_AZURE_PUSH_RECORD": str(tmp_path / "none.json")})
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.e2e
def test_a_ci_job_provisions_and_deploys_with_its_oidc_token_then_a_rerun_changes_nothing(arm, live_api, tmp_path):
    record = tmp_path / "last-push.json"
    registry.record_push(record, registry.PushedImage("efreiprediction.azurecr.io", "efreiprediris", "abc1234", DIGEST, "abc1234", "now"))
    oidc_token = arm.federated_token()
    env = {
        # What the CI files give a job: workload identity federation, no secret.
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_FEDERATED_TOKEN": oidc_token,
        # Aim Entra ID and ARM at the stand-in, trusting its CA.
        "AZURE_AUTHORITY_HOST": arm.url,
        "REQUESTS_CA_BUNDLE": arm.ca_path,
        "INVOKE_AZURE_ARM_ENDPOINT": arm.url,
        "INVOKE_AZURE_POLL_SECONDS": "0.05",
        "INVOKE_AZURE_PUSH_RECORD": str(record),
        # The API keys reach deploy through an environment variable named by a flag.
        "SHOP_API_KEYS": "ci-key-1-0123456789,ci-key-2-0123456789",
        # The revisions' own addresses (the canary's probes) are the local API, over http.
        "INVOKE_AZURE_INGRESS_SCHEME": "http",
    }
    provisioned = invoke("provision", env=env)
    assert provisioned.returncode == 0, provisioned.stderr
    assert provisioned.stdout.splitlines()[-1].startswith(
        f"provisioned /subscriptions/{SUBSCRIPTION}/resourceGroups/prediris: created resource group, container registry"
    )

    deployed = invoke("deploy", "--url", live_api, "--api-keys-from-env", "SHOP_API_KEYS", env=env)
    assert deployed.returncode == 0, deployed.stderr
    assert "ci-key" not in deployed.stdout + deployed.stderr
    last = deployed.stdout.strip().splitlines()
    assert last[-2].startswith("deployed: prediris--abc1234-") and f"serves {live_api}" in last[-2]
    assert last[-1].strip() == f'curl -X POST -H "Content-Type: application/json" -d \'{{"X": [5.1,3.5,1.4,0.2]}}\' {live_api}/predict'
    [put] = arm.requests_to("PUT", r"/containerapps/prediris$")
    assert put.json()["properties"]["template"]["containers"][0]["image"] == f"efreiprediction.azurecr.io/efreiprediris@{DIGEST}"
    assert put.json()["properties"]["configuration"]["secrets"] == [
        {"name": "api-keys", "value": "ci-key-1-0123456789,ci-key-2-0123456789"}
    ]

    token_requests = arm.requests_to("POST", r"/oauth2/v2.0/token$")
    assert {r.form()["client_assertion"] for r in token_requests} == {oidc_token}
    assert {r.form()["client_id"] for r in token_requests} == {CLIENT_ID}

    writes = len(arm.writes())
    again = invoke("deploy", "--url", live_api, "--api-keys-from-env", "SHOP_API_KEYS", env=env)
    assert again.returncode == 0, again.stderr
    assert "already deployed: prediris--abc1234-" in again.stdout
    assert len(arm.writes()) == writes

    # A new image as a canary: a quarter of the traffic, judged for a second, then promoted.
    arm.serve_revisions_at("prediris--", urlsplit(live_api).netloc)  # --image: the revision is named after HEAD's sha
    arm.revision_requests("prediris--", {"2xx": 40})
    other = f"efreiprediction.azurecr.io/efreiprediris@sha256:{'12' * 32}"
    flags = ["--canary", "25", "--canary-window", "1s", "--canary-check-every", "0.3s", "--api-keys-from-env", "SHOP_API_KEYS"]
    promoted = invoke("deploy", "--url", live_api, "--image", other, *flags, env=env)
    assert promoted.returncode == 0, promoted.stderr
    traffic = [r.json()["properties"]["configuration"]["ingress"]["traffic"] for r in arm.requests_to("PATCH", r"/containerapps/prediris$")]
    assert [[w.get("weight") for w in body] for body in traffic] == [[25, 75], [100]]
    assert "canary passed (" in promoted.stdout and "ci-key" not in promoted.stdout + promoted.stderr
