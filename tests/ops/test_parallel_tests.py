"""`invoke test` on xdist workers: an `alone` test runs with no other (tests/support/parallel.py's room)."""

import threading

from tests.support.parallel import Room


def entering(room: Room, alone: bool) -> threading.Thread:
    thread = threading.Thread(target=room.enter, args=(alone,), daemon=True)
    thread.start()
    thread.join(0.3)  # a blocked enter stays blocked; a free one is done long before
    return thread


def test_an_alone_test_waits_for_the_running_ones_and_later_ones_wait_for_it(tmp_path):
    # One Room per worker; each opens the lock files itself, as each worker process does.
    running, alone, later = Room(tmp_path), Room(tmp_path), Room(tmp_path)
    assert not entering(running, alone=False).is_alive()
    waiting_alone = entering(alone, alone=True)
    assert waiting_alone.is_alive(), "the alone test started while another test ran"
    waiting_later = entering(later, alone=False)
    assert waiting_later.is_alive(), "a test started ahead of the alone test waiting for its turn"

    running.leave()
    waiting_alone.join(10)
    assert not waiting_alone.is_alive()
    assert waiting_later.is_alive(), "a test started while the alone test ran"

    alone.leave()
    waiting_later.join(10)
    assert not waiting_later.is_alive()
    for room in (running, alone, later):
        room.close()


def test_tests_that_are_not_alone_share_the_room(tmp_path):
    rooms = [Room(tmp_path) for _ in range(3)]
    assert [entering(room, alone=False).is_alive() for room in rooms] == [False, False, False]
    for room in rooms:
        room.close()
