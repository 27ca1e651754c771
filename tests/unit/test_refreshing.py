"""A value get reports is read behind the request, except when none is known."""

import threading

from k3s_netconf import refreshing
from k3s_netconf.refreshing import Refreshed

# Seconds a test waits for the refreshing thread at most.
WAIT = 5.0


class Readings:
    """Counts reads and lets a test hold a read until it says go."""

    def __init__(self) -> None:
        self.count = 0
        self.read_started = threading.Event()
        self.go = threading.Event()
        self.go.set()
        self.done = threading.Event()

    def read(self) -> int:
        self.count += 1
        self.read_started.set()
        self.go.wait(WAIT)
        self.done.set()
        return self.count


def test_the_first_get_reads_on_the_callers_thread():
    readings = Readings()
    value = Refreshed("numbers", readings.read, max_age=60.0)

    assert value.get() == 1
    assert value.get() == 1
    assert readings.count == 1


def test_a_stale_value_is_returned_at_once_and_read_again_behind_the_get():
    readings = Readings()
    value = Refreshed("numbers", readings.read, max_age=0.0)
    value.get()
    readings.done.clear()
    readings.go.clear()

    try:
        # The read behind is held, yet get answers with the last value.
        assert value.get() == 1
        assert readings.read_started.wait(WAIT)
    finally:
        readings.go.set()

    assert readings.done.wait(WAIT)
    assert _eventually(lambda: value.get() >= 2)
    value.stop()


def test_a_forgotten_value_is_read_again_before_get_returns():
    readings = Readings()
    value = Refreshed("numbers", readings.read, max_age=60.0)
    value.get()

    value.forget()

    assert value.get() == 2


def test_a_read_begun_before_forget_does_not_stand_for_the_new_state():
    readings = Readings()
    value = Refreshed("numbers", readings.read, max_age=0.0)
    value.get()
    readings.read_started.clear()
    readings.go.clear()
    value.get()
    assert readings.read_started.wait(WAIT)

    value.forget()
    readings.go.set()

    # The held read (2) is dropped; the get after forget waits for a read of its own.
    assert value.get() == 3
    value.stop()


def test_a_value_older_than_the_staleness_limit_is_read_before_get_returns(monkeypatch):
    readings = Readings()
    value = Refreshed("numbers", readings.read, max_age=0.0)
    value.get()

    # A limit of zero makes every known value too old to return.
    monkeypatch.setattr(refreshing, "MAX_STALE", 0.0)

    assert value.get() == 2
    assert readings.count == 2


def test_a_renewed_value_is_read_at_once_and_get_returns_it_without_reading():
    readings = Readings()
    value = Refreshed("numbers", readings.read, max_age=60.0)
    value.get()

    value.renew()

    assert readings.count == 2
    assert value.get() == 2
    assert readings.count == 2


def test_a_failed_renewal_leaves_the_value_to_be_read_by_the_next_get():
    calls = []

    def read() -> int:
        calls.append(None)
        if len(calls) == 2:
            raise RuntimeError("no process")
        return len(calls)

    value = Refreshed("numbers", read, max_age=60.0)
    value.get()

    value.renew()

    assert value.get() == 3


def test_a_value_read_behind_from_the_start_is_known_to_the_first_get():
    readings = Readings()
    value = Refreshed("numbers", readings.read, max_age=60.0)

    value.refresh_behind()
    assert readings.done.wait(WAIT)
    # Stopping joins the thread, so the value it read is kept by now.
    value.stop()

    assert value.get() == 1
    assert readings.count == 1


def test_a_value_put_by_the_caller_is_what_get_returns():
    readings = Readings()
    value = Refreshed("numbers", readings.read, max_age=60.0)

    value.put(41)

    assert value.get() == 41
    assert readings.count == 0


def test_a_failing_read_behind_keeps_the_last_value():
    calls = []

    def read() -> int:
        calls.append(None)
        if len(calls) > 1:
            raise RuntimeError("no process")
        return 7

    value = Refreshed("numbers", read, max_age=0.0)
    value.get()

    assert value.get() == 7
    assert _eventually(lambda: len(calls) >= 2)
    assert value.get() == 7
    value.stop()


def _eventually(condition, attempts: int = 500) -> bool:
    # Bounded in count and, through the wait, in time (at most WAIT seconds).
    stop = threading.Event()
    for _ in range(attempts):
        if condition():
            return True
        stop.wait(WAIT / attempts)
    return False
