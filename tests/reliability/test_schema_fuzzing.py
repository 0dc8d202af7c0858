"""Schema-driven fuzzing of the real server with schemathesis: every operation of /openapi.json.

Bounded examples per operation (CI runs this), valid and invalid data alike: never a 5xx, and
every response conforms to the spec (documented status, content type and body schema).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance

from prediris_ops.core.localapi import local_api

pytestmark = pytest.mark.e2e

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def live_api(model_dir, tmp_path_factory):
    with local_api(model_dir, tmp_path_factory.mktemp("schemathesis") / "server.log") as api:
        yield api


@pytest.fixture
def api_schema(live_api):
    return schemathesis.openapi.from_url(live_api.base_url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_the_spec_and_never_5xx(case, live_api):
    case.call_and_validate(checks=CHECKS)
