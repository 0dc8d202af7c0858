"""How a canary's signals are judged against its thresholds (the verdict `invoke deploy --canary` acts on)."""

import pytest

from prediris_ops.azure.canary import CanaryPolicy, Signals, breach

POLICY = CanaryPolicy(percent=10, window=300, check_every=15, max_error_percent=1.0, max_p95_ms=200)


def seen(requests=0, errors=0, latencies=(20.0,) * 20, failed=()):
    return Signals(requests=requests, errors=errors, latencies_ms=list(latencies), failed_probes=list(failed))


@pytest.mark.parametrize(
    ("signals", "final", "reason"),
    [
        pytest.param(seen(1000, 10), True, None, id="1 % of 5xx is allowed"),
        pytest.param(seen(1000, 11), False, "1.1 % of its 1000 requests were 5xx (Azure Monitor), above the 1 % allowed", id="more is not"),
        pytest.param(seen(3, 1), False, None, id="too few requests for an early verdict"),
        pytest.param(seen(3, 1), True, "33.3 % of its 3 requests were 5xx (Azure Monitor), above the 1 % allowed", id="judged at the end"),
        pytest.param(seen(0, 0), True, None, id="no traffic: judged on the probes alone"),
        pytest.param(seen(latencies=[20.0] * 19 + [900.0]), True, None, id="one slow probe in 20 is above the p95"),
        pytest.param(
            seen(latencies=[20.0] * 18 + [900.0] * 2),
            False,
            "its probes' p95 latency is 900 ms, above the 200 ms allowed",
            id="two are not",
        ),
        pytest.param(
            seen(failed=["HTTP 503"]),
            False,
            "1 of 21 latency probes failed (HTTP 503), above the 1 % allowed",
            id="a failed probe counts as an error",
        ),
        pytest.param(seen(latencies=()), True, "no latency probe reached it", id="never probed"),
    ],
)
def test_a_canary_fails_only_past_its_thresholds(signals, final, reason):
    assert breach(signals, POLICY, final=final) == reason
