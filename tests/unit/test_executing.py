"""How the executor groups steps into batches and runs a batch a few calls at a time."""

from __future__ import annotations

import threading
import time

from k3s_netconf import logs
from k3s_netconf.desired import App, Config, Image
from k3s_netconf.executing import NOT_STARTED, batches, concurrently
from k3s_netconf.planning import planner
from k3s_netconf.planning.actions import ApplyApp, ApplyForwarding, DeleteApp, ImportImage, Step


def app(name: str) -> App:
    return App(name=name, image="img:1")


def test_steps_of_one_kind_that_follow_each_other_form_one_batch_in_the_planners_order():
    old = Config(apps={n: app(n) for n in ("gone-1", "gone-2")})
    new = Config(
        images={"img:1": Image("img:1", "img.tar")},
        apps={n: app(n) for n in ("new-1", "new-2", "new-3")},
    )

    grouped = batches(planner.plan(old, new, set()))

    kinds = [[type(step.action) for step in batch] for batch in grouped]
    assert kinds == [[ImportImage], [DeleteApp] * 2, [ApplyApp] * 3]
    assert [s.action.app.name for s in grouped[2]] == ["new-1", "new-2", "new-3"]


def test_steps_that_must_run_alone_are_batches_of_one():
    steps = planner.plan(
        Config(), Config(images={"a": Image("a", "a.tar"), "b": Image("b", "b.tar")}), set()
    )
    steps.append(Step(ApplyForwarding(())))

    assert [len(batch) for batch in batches(steps)] == [1, 1, 1]


def test_calls_run_at_most_as_many_at_once_as_there_are_workers():
    running, most = 0, 0
    lock = threading.Lock()

    def call() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    outcomes = concurrently([call] * 12, workers=3, stop_at_failure=True)

    assert outcomes == [None] * 12
    assert most == 3


def test_after_a_failure_no_further_call_starts_and_the_ones_in_flight_finish():
    started: list[int] = []
    both_running = threading.Barrier(2, timeout=5)
    failure = RuntimeError("refused")

    def call(index: int) -> None:
        started.append(index)
        if index == 0:
            both_running.wait()
            raise failure
        if index == 1:
            both_running.wait()
            # Still in flight when the first call fails: it finishes all the same.
            time.sleep(0.2)

    calls = [lambda i=i: call(i) for i in range(8)]

    outcomes = concurrently(calls, workers=2, stop_at_failure=True)

    assert outcomes[:2] == [failure, None]
    assert outcomes[2:] == [NOT_STARTED] * 6
    assert sorted(started) == [0, 1]


def test_without_stopping_at_failures_every_call_is_made():
    def call(index: int) -> None:
        if index % 2:
            raise ValueError(index)

    outcomes = concurrently(
        [lambda i=i: call(i) for i in range(6)], workers=4, stop_at_failure=False
    )

    assert [type(o) for o in outcomes] == [type(None), ValueError] * 3


def test_each_call_sees_the_context_of_the_caller():
    seen: list[int | None] = []
    with logs.acting_for(7):
        concurrently([lambda: seen.append(logs.SESSION.get())] * 4, workers=2, stop_at_failure=True)

    assert seen == [7, 7, 7, 7]
