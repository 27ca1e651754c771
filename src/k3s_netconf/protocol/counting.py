"""The counters of RFC 6022: per session, and for the server since it started.

Sessions run in threads of their own, so every count is taken under a lock.
"""

from __future__ import annotations

import threading
from dataclasses import fields
from datetime import UTC, datetime

from k3s_netconf import monitoring

# The names of the per-session counters, which the server also sums up.
RPC_COUNTERS = tuple(f.name for f in fields(monitoring.Counters))


class Tally:
    """Counts by name; safe to use from many threads."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(names, 0)

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def values(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def counters(self) -> monitoring.Counters:
        values = self.values()
        return monitoring.Counters(**{name: values[name] for name in RPC_COUNTERS})


class ServerTally(Tally):
    """The counters of /netconf-state/statistics."""

    SESSION_COUNTERS = ("in_bad_hellos", "in_sessions", "dropped_sessions")

    def __init__(self) -> None:
        super().__init__(RPC_COUNTERS + self.SESSION_COUNTERS)
        self.start_time = datetime.now(UTC)

    def statistics(self) -> monitoring.Statistics:
        values = self.values()
        return monitoring.Statistics(
            netconf_start_time=self.start_time,
            in_bad_hellos=values["in_bad_hellos"],
            in_sessions=values["in_sessions"],
            dropped_sessions=values["dropped_sessions"],
            counters=self.counters(),
        )
