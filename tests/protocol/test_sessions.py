"""Ending sessions: close-session, kill-session, the idle timeout (RFC 6241 7.8, 7.9)."""

from __future__ import annotations

import time

import pytest
from ncclient.operations import RPCError
from ncclient.transport import TransportError

from protocol import connecting
from protocol.rawclient import NC
from protocol.xmlcheck import is_ok, the_error

pytestmark = pytest.mark.protocol

GET_CONFIG = "<get-config><source><running/></source></get-config>"


def session_id(client) -> int:
    return int(client.hello().findtext(f"{{{NC}}}session-id"))


def kill(client, target: int | str, message_id: str = "1"):
    return client.rpc(f"<kill-session><session-id>{target}</session-id></kill-session>", message_id)


def test_close_session_answers_ok_then_closes(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        reply = client.rpc("<close-session/>", message_id="c1")

        assert is_ok(reply) and reply.get("message-id") == "c1"
        assert client.closed_by_server(within=5)


def test_close_session_releases_the_lock(netconf_daemon):
    first = connecting.ncclient(netconf_daemon)
    second = connecting.ncclient(netconf_daemon)
    try:
        first.lock("running")
        first.close_session()
        assert second.lock("running").ok
        second.unlock("running")
    finally:
        second.close_session()


def test_kill_session_naming_the_own_session_is_invalid_value(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        own = session_id(client)
        error = the_error(kill(client, own))
        # The session is still there.
        assert client.rpc(GET_CONFIG).find(f"{{{NC}}}data") is not None

    assert (error["type"], error["tag"]) == ("protocol", "invalid-value")
    assert error["info"] == {"bad-element": "session-id"}


@pytest.mark.parametrize("target", ["999999", "0", "-1", "two", ""])
def test_kill_session_naming_no_live_session_is_invalid_value(netconf_daemon, target):
    with connecting.hello(netconf_daemon) as client:
        error = the_error(kill(client, target))
    assert (error["type"], error["tag"]) == ("protocol", "invalid-value")


def test_kill_session_without_a_session_id_gets_missing_element(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        error = the_error(client.rpc("<kill-session/>"))
    assert (error["tag"], error["info"]) == ("missing-element", {"bad-element": "session-id"})


def test_kill_session_closes_the_other_session(netconf_daemon):
    with connecting.raw(netconf_daemon) as victim, connecting.hello(netconf_daemon) as killer:
        victim_id = session_id(victim)

        assert is_ok(kill(killer, victim_id))
        assert victim.closed_by_server(within=5)
        # A killed session is gone: killing it again names no live session.
        assert the_error(kill(killer, victim_id, "2"))["tag"] == "invalid-value"


def test_kill_session_releases_the_killed_sessions_lock(netconf_daemon):
    holder = connecting.ncclient(netconf_daemon)
    other = connecting.ncclient(netconf_daemon)
    try:
        holder.lock("running")
        with pytest.raises(RPCError) as denied:
            other.lock("running")
        assert denied.value.tag == "lock-denied"

        other.kill_session(holder.session_id)

        assert other.lock("running").ok
        other.unlock("running")
        with pytest.raises((TransportError, RPCError, OSError)):
            holder.get_config(source="running")
    finally:
        other.close_session()


def test_idle_session_is_closed_after_the_idle_timeout(start_daemon):
    daemon = start_daemon(server={"idle_timeout": 1.0})
    with connecting.hello(daemon) as idle, connecting.hello(daemon) as busy:
        # Activity keeps a session open past the timeout.
        until = time.monotonic() + 2.5
        while time.monotonic() < until:
            assert busy.rpc(GET_CONFIG).find(f"{{{NC}}}data") is not None
            time.sleep(0.3)

        assert idle.closed_by_server(within=3)
