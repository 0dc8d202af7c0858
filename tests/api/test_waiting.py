"""The requests waiting for a thread, read from granian's exporter (the real one: tests/reliability/test_shedding.py)."""

from prediris_api.serving.waiting import GranianQueue, free_port


def test_nothing_is_waiting_while_the_exporter_does_not_answer():
    # Before granian's exporter has started, or after it has stopped, a scrape still answers.
    assert GranianQueue(free_port(), timeout=0.5)() == 0
