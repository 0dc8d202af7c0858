"""The Combiner: concurrent callers share model calls, each gets exactly its own rows' answers."""

import threading
import time

import numpy as np
import pytest

from prediris_api.serving.combining import Combiner


def doubling(calls):
    def compute(rows):
        calls.append(len(rows))
        time.sleep(0.002)  # long enough for other callers to queue behind this call
        return rows * 2, rows.sum(axis=1)

    return compute


def test_an_idle_caller_runs_at_once_with_its_own_rows():
    calls = []
    combiner = Combiner(doubling(calls))
    doubled, sums = combiner(np.array([[1.0, 2.0]]))
    assert doubled.tolist() == [[2.0, 4.0]]
    assert sums.tolist() == [3.0]
    assert calls == [1]


def test_concurrent_callers_share_calls_and_each_gets_its_slice():
    calls = []
    combiner = Combiner(doubling(calls), max_rows=64)
    results = {}
    start = threading.Barrier(16)

    def caller(index):
        start.wait()
        rows = np.full((1 + index % 3, 2), float(index))
        results[index] = (rows, combiner(rows))

    threads = [threading.Thread(target=caller, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 16
    for rows, (doubled, sums) in results.values():
        assert np.array_equal(doubled, rows * 2)
        assert np.array_equal(sums, rows.sum(axis=1))
    assert sum(calls) == sum(len(rows) for rows, _ in results.values())
    assert len(calls) < 16, "callers that arrived together should have shared calls"
    assert max(calls) <= 64


def test_a_batch_never_exceeds_max_rows():
    calls = []
    combiner = Combiner(doubling(calls), max_rows=4)
    threads = [threading.Thread(target=combiner, args=(np.ones((3, 2)),)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert max(calls) <= 4
    assert sum(calls) == 24


def test_an_error_reaches_every_caller_of_the_batch_and_nobody_hangs():
    def failing(rows):
        time.sleep(0.002)
        raise ValueError("model failed")

    combiner = Combiner(failing)
    errors = []

    def caller():
        with pytest.raises(ValueError, match="model failed"):
            combiner(np.ones((1, 2)))
        errors.append(True)

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == [True] * 6


def test_the_batch_callback_sees_each_call_size():
    sizes = []
    combiner = Combiner(lambda rows: (rows,), on_batch=sizes.append)
    combiner(np.ones((2, 4)))
    assert sizes == [2]


def test_an_idle_combiner_never_waits():
    calls = []
    combiner = Combiner(doubling(calls))
    done = threading.Event()
    caller = threading.Thread(target=lambda: (combiner(np.ones((1, 2))), done.set()))
    caller.start()
    assert done.wait(10), "an idle combiner must call at once"
    caller.join(10)
    assert calls == [1]


def test_a_failed_idle_call_leaves_the_combiner_usable():
    outcomes = iter([ValueError("first call fails"), None])

    def compute(rows):
        error = next(outcomes)
        if error:
            raise error
        return (rows,)

    combiner = Combiner(compute)
    with pytest.raises(ValueError, match="first call fails"):
        combiner(np.ones((1, 2)))
    assert combiner(np.ones((1, 2)))[0].tolist() == [[1.0, 1.0]]
