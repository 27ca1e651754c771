"""Connecting to a test daemon with the raw client or with ncclient."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ncclient import manager

from protocol.rawclient import RawClient


def raw(daemon: Any, **options: Any) -> RawClient:
    """A raw client logged in with the daemon's password, the netconf subsystem started."""
    options.setdefault("password", daemon.password)
    return RawClient(daemon.host, daemon.port, daemon.user, **options)


def hello(daemon: Any, **options: Any) -> RawClient:
    """A raw client past the hello exchange, speaking base:1.1 (chunked framing)."""
    client = raw(daemon, **options)
    client.hello()
    return client


def ncclient(daemon: Any, **options: Any) -> manager.Manager:
    options.setdefault("password", daemon.password)
    return manager.connect(
        host=daemon.host,
        port=daemon.port,
        username=daemon.user,
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
        **options,
    )


@contextmanager
def candidate_holding(daemon: Any, config: str) -> Iterator[manager.Manager]:
    """An ncclient session whose edit ``config`` is in the candidate, discarded at the end.

    For tests that share one daemon: its candidate is running again afterwards."""
    with ncclient(daemon) as session:
        session.edit_config(target="candidate", config=config)
        yield session
        session.discard_changes()
