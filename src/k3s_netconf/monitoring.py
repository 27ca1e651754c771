"""What the protocol layer counts of its sessions, as plain values for the service to report.

The protocol layer owns sessions and counts their messages; the service renders
``/netconf-state`` (RFC 6022). These records are all that passes between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Counters:
    in_rpcs: int = 0
    in_bad_rpcs: int = 0
    out_rpc_errors: int = 0
    out_notifications: int = 0


@dataclass(frozen=True)
class SessionView:
    session_id: int
    username: str
    source_host: str
    login_time: datetime
    counters: Counters


@dataclass(frozen=True)
class Statistics:
    netconf_start_time: datetime
    in_bad_hellos: int
    in_sessions: int
    dropped_sessions: int
    counters: Counters


@dataclass(frozen=True)
class Snapshot:
    # The server's hello names exactly these.
    capabilities: list[str]
    statistics: Statistics
    sessions: list[SessionView]
