"""The stand-in's extension points, through the real SDK: scripted replica counts and a custom route
(what a load test polling replicas builds on), and Azure Monitor's metrics API (what the canary reads)."""

import datetime as dt

import pytest
from azure.core.exceptions import HttpResponseError

from prediris_ops.azure import rollout
from tests.azure.conftest import IMAGE
from tests.support.arm_standin import Reply

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("provisioned")]


def replica_count(clients, target, revision):
    return len(clients.apps.container_apps_revision_replicas.list_replicas(target.resource_group, target.app, revision).value)


@pytest.fixture
def revision(clients, target, live_api):
    return rollout.deploy(clients, target, IMAGE, "abc1234", smoke_url=live_api, log=lambda line: None).revision


def test_an_active_revision_reports_its_min_replicas_by_default(clients, target, revision):
    assert replica_count(clients, target, revision) == target.min_replicas


def test_scripted_replica_counts_are_served_in_turn_and_the_last_one_repeats(arm, clients, target, revision):
    arm.script_replicas(revision, [1, 3, 5])
    assert [replica_count(clients, target, revision) for _ in range(4)] == [1, 3, 5, 5]


def test_a_route_overrides_any_answer_and_can_fall_through(arm, clients, target, revision):
    calls = []

    def replicas(request, match):
        calls.append(match.group("revision"))
        return None if len(calls) == 1 else Reply(200, {"value": []})

    arm.route("GET", r"/revisions/(?P<revision>[^/]+)/replicas$", replicas)
    assert replica_count(clients, target, revision) == target.min_replicas  # fell through to the default
    assert replica_count(clients, target, revision) == 0
    assert calls == [revision.lower(), revision.lower()]


def test_azure_monitor_answers_the_requests_of_a_revision_by_status_category(arm, clients, target, revision):
    arm.revision_requests(revision, {"2xx": 30, "5xx": 2})
    since = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=3)  # three whole minutes
    result = clients.metrics.query_resource(
        target.app_id,
        ["Requests"],
        timespan=(since, since + dt.timedelta(minutes=3)),
        granularity=dt.timedelta(minutes=1),
        aggregations=["Total"],
        filter=f"revisionName eq '{revision}' and statusCodeCategory eq '*'",
    )
    [metric] = result.metrics
    by_category = {s.metadata_values["statuscodecategory"]: [p.total for p in s.data] for s in metric.timeseries}
    assert metric.name == "Requests" and by_category == {"2xx": [30.0] * 3, "5xx": [2.0] * 3}
    assert {s.metadata_values["revisionname"] for s in metric.timeseries} == {revision}


def test_azure_monitor_refuses_a_metric_container_apps_do_not_have(clients, target, revision):
    with pytest.raises(HttpResponseError, match="Failed to find metric configuration"):
        clients.metrics.query_resource(target.app_id, ["Bogus"], timespan=dt.timedelta(minutes=5))
