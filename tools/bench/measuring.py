"""The workload, run the same way against either server: bounded in runs and in seconds."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import workload as w
from client import NetconfFailure, Session, Target, timed_session

# (API calls so far, seconds so far during which at least one of them was under way)
Calls = Callable[[], tuple[int, float]]


def no_calls() -> tuple[int, float]:
    return 0, 0.0


@dataclass
class Figure:
    seconds: list[float] = field(default_factory=list)
    api_calls: list[int] = field(default_factory=list)
    api_seconds: list[float] = field(default_factory=list)
    # What the server says its commits spent on their own work: checks, planning, saving.
    own_work: list[float] = field(default_factory=list)
    reply_bytes: int = 0

    def p(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def calls_per_run(self) -> float:
        return statistics.mean(self.api_calls) if self.api_calls else 0.0

    def own_seconds(self) -> list[float]:
        """Time outside the API server: each run's total less its API requests."""
        return [total - api for total, api in zip(self.seconds, self.api_seconds, strict=True)]


@dataclass
class Bench:
    target: Target
    calls: Calls
    runs: int
    budget: float
    rss: Callable[[], int]
    # Where the commit figures run: a server of its own when one cannot offer both running
    # and candidate (netconfd has one target datastore); None for the same server.
    candidate: Target | None = None
    # Seconds of the server's own work in its commits so far, where it tells them.
    own_work: Callable[[], float] | None = None
    figures: dict[str, Figure] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)

    def timed(
        self,
        name: str,
        action: Callable[[], bytes],
        between: Callable[[], object] | None = None,
        before: Callable[[], object] | None = None,
    ) -> None:
        """Runs action up to ``runs`` times within ``budget`` seconds (at least once).

        ``between`` runs, untimed, between two runs; ``before`` before each run.
        """
        figure = self.figures.setdefault(name, Figure())
        deadline = time.monotonic() + self.budget
        for run in range(self.runs):
            if run and (time.monotonic() > deadline):
                break
            if run and between is not None:
                between()
            if before is not None:
                before()
            calls, api = self.calls()
            work = self.own_work() if self.own_work else 0.0
            start = time.perf_counter()
            reply = action()
            figure.seconds.append(time.perf_counter() - start)
            calls_after, api_after = self.calls()
            figure.api_calls.append(calls_after - calls)
            figure.api_seconds.append(api_after - api)
            if self.own_work:
                figure.own_work.append(self.own_work() - work)
            figure.reply_bytes = len(reply)

    def setup(self, name: str) -> None:
        """Connect, log in and exchange hellos; closing the session is not timed."""
        figure = self.figures.setdefault(name, Figure())
        deadline = time.monotonic() + self.budget
        for run in range(self.runs):
            if run and time.monotonic() > deadline:
                break
            session, seconds = timed_session(self.target)
            figure.seconds.append(seconds)
            session.close()

    def concurrent(self, name: str, count: int) -> None:
        """count sessions, each in a thread, doing get-config until runs or budget end."""
        sessions = [Session(self.target) for _ in range(count)]
        figure = self.figures.setdefault(name, Figure())
        lock = threading.Lock()
        deadline = time.monotonic() + self.budget

        def work(session: Session) -> None:
            for _ in range(self.runs):
                if time.monotonic() > deadline:
                    break
                start = time.perf_counter()
                session.rpc(w.get_config())
                with lock:
                    figure.seconds.append(time.perf_counter() - start)

        threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.budget + 600)
        for session in sessions:
            session.close()


def run(bench: Bench, log: Callable[[str], None]) -> None:
    bench.memory["idle"] = bench.rss()
    session = Session(bench.target)
    session.rpc(w.add_image())

    log("session setup")
    bench.setup("session setup")
    bench.timed("get-config, 0 apps", lambda: session.rpc(w.get_config()))

    log("edit-config creating 1 app")
    one = w.names("one", 1)
    bench.timed(
        "edit-config creating 1 app",
        lambda: session.rpc(w.create_apps(one)),
        between=lambda: session.rpc(w.delete_apps(one)),
    )
    session.rpc(w.delete_apps(one))

    for count in (10, 100, 1000):
        _at_size(bench, session, count, log)

    bench.memory["after load"] = bench.rss()
    session.close()
    _commits(bench, log)


def _commits(bench: Bench, log: Callable[[str], None]) -> None:
    """commit of a candidate that creates apps, and of one that changes one app of 100."""
    session = Session(bench.candidate or bench.target)
    if bench.candidate is not None:
        session.rpc(w.add_image().replace("<running/>", "<candidate/>"))
        session.rpc(w.commit())

    for count in (1, 100):
        apps = w.names("commit", count)

        def remove(apps: list[str] = apps) -> None:
            session.rpc(w.delete_apps(apps, "candidate"))
            session.rpc(w.commit())

        log(f"commit creating {count} apps")
        bench.timed(
            f"commit creating {count} app{'s' if count > 1 else ''}",
            lambda: session.rpc(w.commit()),
            between=remove,
            before=lambda apps=apps: session.rpc(w.create_apps(apps, "candidate")),
        )
        if count == 1:
            remove()

    # The 100 apps of the last figure stay: one of them is changed, and committed.
    modes = itertools.count()
    log("commit changing 1 of 100 apps")
    bench.timed(
        "commit changing 1 of 100 apps",
        lambda: session.rpc(w.commit()),
        before=lambda: session.rpc(w.change_app("commit0000", f"run{next(modes)}", "candidate")),
    )
    session.rpc(w.delete_apps(w.names("commit", 100), "candidate"))
    session.rpc(w.commit())
    session.close()


def _at_size(bench: Bench, session: Session, count: int, log: Callable[[str], None]) -> None:
    apps = w.names("app", count)
    log(f"edit-config creating {count} apps")
    bench.timed(
        f"edit-config creating {count} apps",
        lambda: session.rpc(w.create_apps(apps)),
        between=lambda: session.rpc(w.delete_apps(apps)),
    )

    log(f"get-config and get, {count} apps")
    bench.timed(f"get-config, {count} apps", lambda: session.rpc(w.get_config()))
    bench.timed(f"get (apps), {count} apps", lambda: session.rpc(w.get_apps()))
    bench.memory[f"{count} apps"] = bench.rss()
    if count >= 100:
        modes = itertools.count()
        bench.timed(
            f"edit-config changing 1 of {count} apps",
            lambda: session.rpc(w.change_app(apps[0], f"run{next(modes)}")),
        )
    if count == 10:
        for sessions in (1, 10, 50):
            log(f"{sessions} concurrent sessions")
            bench.concurrent(f"get-config, 10 apps, {sessions} concurrent sessions", sessions)

    log(f"deleting {count} apps")
    try:
        session.rpc(w.delete_apps(apps))
    except NetconfFailure as e:
        # A busy API server may time out; the namespace, deleted at the end, takes the rest.
        log(f"deleting {count} apps failed: {str(e)[:300]}")
