"""The k3s-netconfd command: serving, stopping, its log, and hash-password."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import bcrypt
import pytest

from protocol import connecting
from protocol.rawclient import NC

pytestmark = pytest.mark.protocol


def logged(daemon, text: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while text not in daemon.log():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "k3s_netconf.cli", *args]


def test_hash_password_prints_a_bcrypt_hash_of_stdin():
    done = subprocess.run(
        command("hash-password"),
        input="pässword\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert bcrypt.checkpw("pässword".encode(), done.stdout.strip().encode())


def test_hash_password_refuses_an_empty_password():
    done = subprocess.run(
        command("hash-password"),
        input="\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0 and "empty" in done.stderr


def test_sigterm_stops_the_daemon_cleanly_with_sessions_open(start_daemon):
    daemon = start_daemon()
    with connecting.hello(daemon) as client:
        client.rpc("<lock><target><running/></target></lock>")
        assert daemon.stop() == 0
        assert client.closed_by_server(within=5)
    assert "Stopped." in daemon.log()


def test_json_log_lines_carry_the_session_and_the_user(start_daemon):
    daemon = start_daemon(log={"format": "json"})
    with connecting.hello(daemon) as client:
        client.rpc("<close-session/>")
        client.closed_by_server(within=5)
    daemon.stop()

    lines = [line for line in daemon.log().splitlines() if line.strip()]
    for line in lines:
        assert line.startswith("{"), f"not a JSON log line: {line!r}"
    entries = [json.loads(line) for line in lines]
    opened = [e for e in entries if e["message"].startswith("Session opened")]
    assert opened and opened[0]["user"] == daemon.user and opened[0]["session_id"] >= 1
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)


def test_text_log_names_the_session_and_the_user(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        session_id = client.hello().findtext(f"{{{NC}}}session-id")
        client.rpc("<close-session/>")
        client.closed_by_server(within=5)
    expected = f"[session {session_id} {netconf_daemon.user}] Session closed."
    assert logged(netconf_daemon, expected, within=5)


def test_ncclient_sees_the_capabilities_and_gets_answers(netconf_daemon):
    manager = connecting.ncclient(netconf_daemon)
    try:
        capabilities = list(manager.server_capabilities)
        assert "urn:ietf:params:netconf:base:1.1" in capabilities
        assert manager.get_config(source="running").ok
        assert manager.get().ok
    finally:
        manager.close_session()
