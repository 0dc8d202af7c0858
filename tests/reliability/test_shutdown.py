"""Graceful shutdown of the real server process under steady load: SIGTERM loses no accepted request."""

import signal
import time

import pytest

from prediris_ops.core.localapi import local_api
from prediris_ops.load.loadgen import generate_load

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

CLIENTS = 50
GRACE_SECONDS = 10


def test_sigterm_under_load_answers_every_request_sent_before_it_and_exits_0(model_dir, tmp_path):
    settings = {"shutdown_grace_seconds": GRACE_SECONDS, "drain_delay_seconds": 1}
    with local_api(model_dir, tmp_path / "server.log", settings=settings) as api:
        signalled = []

        def terminate():
            signalled.append(time.monotonic())
            api.process.send_signal(signal.SIGTERM)

        result = generate_load(api.base_url, connections=CLIENTS, duration=6, record=True, during=terminate, at=3)
        exit_code = api.process.wait(GRACE_SECONDS + 20)
    log = api.log_tail(4000)
    before = [outcome for sent, outcome in result.records if sent < signalled[0]]
    after = [outcome for sent, outcome in result.records if sent >= signalled[0]]
    print(f"\nshutdown under load, {CLIENTS} clients: {result.summary()}")
    print(f"{len(before)} requests sent before SIGTERM, after it: {sorted((str(o), after.count(o)) for o in set(after))}")
    print([line for line in log.splitlines() if "drain" in line or "shutdown" in line])

    assert before and set(before) == {200}, "a request sent before the signal failed"
    assert "timeout" not in after, "a request hung instead of being answered or refused"
    assert {outcome for outcome in after if isinstance(outcome, int)} <= {200, 503}
    assert exit_code == 0
