"""The stand-in's extension points, through the real SDK: scripted replica counts and a custom route
(what a load test polling replicas builds on)."""

import pytest

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
