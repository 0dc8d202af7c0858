"""The admission dispatcher counts what it admitted until serviced: workers alone never count as in flight."""

from prediris_api.serving.admission import AdmissionDispatcher, Limits


def test_started_workers_are_waiting_for_work_so_nothing_counts_as_in_flight():
    dispatcher = AdmissionDispatcher(Limits(max_in_flight=1, max_queue=0, retry_after_seconds=1))
    try:
        dispatcher.set_thread_count(2)
        # Waitress counts a worker as busy until it first waits (and again when it has just finished):
        # counts built on that would hold the workers themselves and shed the first requests.
        assert dispatcher.in_flight() == (0, 0)
    finally:
        dispatcher.shutdown(timeout=5)
