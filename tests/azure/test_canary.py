"""`invoke deploy --canary`: through the real Azure SDK (azure-mgmt-appcontainers, azure-monitor-query)
against the ARM and Azure Monitor stand-in, with each revision's own address a real local server."""

import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest

from prediris_ops.azure import rollout
from prediris_ops.azure.canary import CanaryPolicy
from prediris_ops.azure.errors import AzureError
from tests.azure.conftest import IMAGE, OTHER_IMAGE, make_target

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("provisioned")]
APP = "/resourcegroups/prediris/providers/microsoft.app/containerapps/prediris"
NEW = "def5678"
# Seconds, not minutes: the window ends after a few rounds of probes and metric reads.
POLICY = CanaryPolicy(percent=20, window=1.0, check_every=0.25, max_error_percent=1.0, max_p95_ms=2000)


@contextmanager
def slow_copy_of(base_url: str, delay: float):
    """Serve `base_url` through a real proxy that answers every request `delay` seconds late."""

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _forward(self):
            time.sleep(delay)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
            headers = {"Content-Type": self.headers["Content-Type"]} if self.headers["Content-Type"] else {}
            request = Request(base_url + self.path, data=body, method=self.command, headers=headers)
            try:
                with urlopen(request, timeout=10) as response:
                    status, payload, kind = response.status, response.read(), response.headers.get("Content-Type")
            except OSError as error:  # HTTPError carries the API's own answer
                status, payload, kind = error.code, error.read(), error.headers.get("Content-Type")
            self.send_response(status)
            self.send_header("Content-Type", kind or "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def target(arm):
    return make_target(arm, ingress_scheme="http")  # the local servers behind the revisions speak plain http


@pytest.fixture
def serving(arm, clients, target, live_api):
    """The revision serving all traffic before the canary, at the real API's address."""
    arm.serve_revisions_at("abc1234", urlsplit(live_api).netloc)
    return rollout.deploy(clients, target, IMAGE, "abc1234", smoke_url=live_api, log=lambda line: None).revision


def canary(clients, target, policy=POLICY):
    lines: list[str] = []
    try:
        return rollout.deploy(clients, target, OTHER_IMAGE, NEW, policy=policy, log=lines.append), lines
    except AzureError as error:
        error.lines = lines
        raise


def traffic_bodies(arm, since):
    return [r.json()["properties"]["configuration"]["ingress"]["traffic"] for r in arm.requests_to("PATCH", APP + "$")[since:]]


def revisions(arm):
    return {r["name"]: r["properties"] for r in arm.resources.values() if r["type"].endswith("/revisions")}


def test_a_healthy_canary_takes_its_share_is_judged_then_promoted(arm, clients, target, live_api, serving):
    arm.serve_revisions_at(NEW, urlsplit(live_api).netloc)
    arm.revision_requests(NEW, {"2xx": 120, "4xx": 3})
    result, lines = canary(clients, target)

    new = result.revision
    assert new.startswith(f"prediris--{NEW}-") and result.previous == serving
    put = arm.requests_to("PUT", APP + "$")[-1].json()
    assert put["properties"]["configuration"]["ingress"]["traffic"] == [{"revisionName": serving, "weight": 100}]  # starts with none
    assert traffic_bodies(arm, 0) == [
        [{"revisionName": new, "weight": 20}, {"revisionName": serving, "weight": 80}],
        [{"latestRevision": True, "weight": 100}],
    ]
    queries = arm.requests_to("GET", APP + "/providers/microsoft.insights/metrics$")
    assert len(queries) >= 3  # one per round over the window
    assert {(q.query["metricnames"], q.query["interval"], q.query["aggregation"]) for q in queries} == {("Requests", "PT1M", "Total")}
    assert {q.query["$filter"] for q in queries} == {f"revisionName eq '{new}' and statusCodeCategory eq '*'"}
    assert revisions(arm)[new]["trafficWeight"] == 100 and not revisions(arm)[serving]["active"]
    assert f"smoke test of {new} at {live_api}:" in lines
    assert f"canary: traffic 20 % → {new}, 80 % → {serving}" in lines
    progress = [line for line in lines if f"canary {new}:" in line]
    assert len(progress) == len(queries) and "0 5xx (0.0 %) in Azure Monitor" in progress[-1]
    assert any(line.startswith("canary passed (") and line.endswith(f"promoting {new} to 100 %") for line in lines)


def test_a_canary_answering_5xx_in_azure_monitor_is_rolled_back_with_the_reason(arm, clients, target, live_api, serving):
    arm.serve_revisions_at(NEW, urlsplit(live_api).netloc)
    arm.revision_requests(NEW, {"2xx": 90, "5xx": 10})
    with pytest.raises(AzureError) as raised:
        canary(clients, target, CanaryPolicy(percent=10, window=30, check_every=0.25, max_error_percent=1.0, max_p95_ms=2000))

    new = next(name for name in revisions(arm) if NEW in name)
    message = str(raised.value)
    assert message.startswith(f"deploy of {new} failed: the canary failed: 10.0 % of its ")
    assert message.endswith(
        f"requests were 5xx (Azure Monitor), above the 1 % allowed; traffic rolled back to {serving}, {new} deactivated"
    )
    assert traffic_bodies(arm, 0) == [
        [{"revisionName": new, "weight": 10}, {"revisionName": serving, "weight": 90}],
        [{"revisionName": serving, "weight": 100}],
    ]
    assert len(arm.requests_to("GET", "/microsoft.insights/metrics$")) == 1  # judged early, long before the 30 s window
    assert revisions(arm)[serving]["trafficWeight"] == 100 and not revisions(arm)[new]["active"]


def test_a_slow_canary_is_rolled_back_on_its_probes_latency(arm, clients, target, live_api, serving):
    with slow_copy_of(live_api, delay=0.2) as slow:
        arm.serve_revisions_at(NEW, urlsplit(slow).netloc)
        arm.revision_requests(NEW, {"2xx": 50})
        policy = CanaryPolicy(percent=20, window=1.0, check_every=0.25, max_error_percent=1.0, max_p95_ms=100)
        with pytest.raises(
            AzureError, match=r"the canary failed: its probes' p95 latency is \d+ ms, above the 100 ms allowed; traffic rolled back"
        ):
            canary(clients, target, policy)
    assert traffic_bodies(arm, 0)[-1] == [{"revisionName": serving, "weight": 100}]


def test_a_canary_azure_monitor_cannot_judge_is_rolled_back(arm, clients, target, live_api, serving):
    arm.serve_revisions_at(NEW, urlsplit(live_api).netloc)
    message = "The client does not have authorization to perform action 'Microsoft.Insights/metrics/read' over scope '/subscriptions/s'"
    arm.fail("GET", "/microsoft.insights/metrics$", 403, "AuthorizationFailed", message)
    with pytest.raises(
        AzureError, match=r"the canary failed: Azure Monitor could not be read: permission denied: .*; traffic rolled back to"
    ):
        canary(clients, target)
    assert traffic_bodies(arm, 0)[-1] == [{"revisionName": serving, "weight": 100}]


def test_a_first_deploy_cannot_be_a_canary(arm, clients, target):
    with pytest.raises(AzureError, match=r"^--canary needs a revision serving traffic to share it with; prediris has none"):
        canary(clients, target)
    assert arm.writes() == []
