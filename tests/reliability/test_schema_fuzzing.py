"""Schema-driven fuzzing of the real server with schemathesis: every operation of /openapi.json.

Bounded examples per operation (CI runs this), valid and invalid data alike: never a 5xx, and
every response conforms to the spec (documented status, content type and body schema). Then the
numbers a schema generator rarely tries: V2 tensors of each datatype and /predict rows holding the
boundary floats (subnormals, float32's largest value and the first one past it, float64's largest):
the server accepts exactly what the description allows, and counts a prediction per accepted row only.
"""

import json
import math
import urllib.error
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance

from prediris_api.protocol.v2codec import DATATYPES, FP32_OVERFLOW
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


FP32_MAX = 3.4028234663852886e38
BOUNDARY_FLOATS = [
    0.0,
    -0.0,
    5e-324,  # the smallest float64 subnormal
    1e-45,  # near float32's smallest subnormal (rounds to it)
    1.1754943508222875e-38,  # float32's smallest normal
    FP32_MAX,
    math.nextafter(FP32_OVERFLOW, 0.0),  # the largest float64 a float32 cast still rounds to FP32_MAX
    FP32_OVERFLOW,  # the first that overflows to infinity in the cast
    1e39,
    1.7976931348623157e308,  # float64's largest
    -1.0,
    -5e-324,
]
values = st.one_of(st.sampled_from(BOUNDARY_FLOATS), st.floats(allow_nan=False, allow_infinity=False), st.integers(-1, 10**30))


def accepted(value: float, datatype: str) -> bool:
    """What the OpenAPI description allows: a measurement (>= 0), and for FP32 below the overflow bound."""
    return value >= 0 and (datatype != "FP32" or value < FP32_OVERFLOW)


def post(base_url: str, path: str, document: dict) -> tuple[int, dict]:
    request = urllib.request.Request(base_url + path, data=json.dumps(document).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def predictions_counted(base_url: str) -> float:
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as response:
        families = text_string_to_metric_families(response.read().decode())
    return sum(sample.value for family in families for sample in family.samples if sample.name == "prediris_predictions_total")


@pytest.fixture(scope="module")
def counted_rows(live_api):
    """Rows answered 200 by the boundary tests, checked against the server's counter at the end."""
    rows = {"before": predictions_counted(live_api.base_url), "answered": 0}
    yield rows
    assert predictions_counted(live_api.base_url) - rows["before"] == rows["answered"]


@given(
    datatype=st.sampled_from(sorted(DATATYPES)),
    rows=st.lists(st.lists(values, min_size=4, max_size=4), min_size=1, max_size=3),
    nested=st.booleans(),
)
@settings(max_examples=EXAMPLES_PER_OPERATION * 2, deadline=None, suppress_health_check=list(HealthCheck))
def test_v2_tensors_of_every_datatype_are_accepted_exactly_as_described(live_api, counted_rows, datatype, rows, nested):
    data = rows if nested else [value for row in rows for value in row]
    tensor = {"name": "input-0", "shape": [len(rows), 4], "datatype": datatype, "data": data}
    status, body = post(live_api.base_url, "/v2/models/iris-knn/infer", {"inputs": [tensor]})
    valid = all(accepted(value, datatype) for row in rows for value in row)
    assert status == (200 if valid else 400), body
    if valid:
        assert body["outputs"][0]["shape"] == [len(rows)]
        counted_rows["answered"] += len(rows)
    else:
        assert "/inputs/0/data/" in body["error"]


@given(rows=st.lists(st.lists(values, min_size=4, max_size=4), min_size=1, max_size=3))
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_predict_rows_of_boundary_floats_are_answered_or_refused_with_a_pointer(live_api, counted_rows, rows):
    status, body = post(live_api.base_url, "/predict", {"X": rows})
    valid = all(accepted(value, "FP64") and float(value) < math.inf for row in rows for value in row)
    assert status == (200 if valid else 400), body
    if valid:
        counted_rows["answered"] += len(rows)
    else:
        assert body["errors"][0]["pointer"].startswith("/X/")
