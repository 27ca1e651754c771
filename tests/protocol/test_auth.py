"""Logging in: passwords, public keys, refusals, the netconf subsystem only, the host key."""

from __future__ import annotations

import io
import re
import stat
import time

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from ncclient.transport import AuthenticationError

from protocol import connecting
from protocol.rawclient import NC, RawClient, load_key

pytestmark = pytest.mark.protocol


def test_password_login_opens_a_session(netconf_daemon):
    manager = connecting.ncclient(netconf_daemon)
    try:
        assert manager.session_id
        assert manager.get_config(source="running").ok
    finally:
        manager.close_session()


def test_wrong_password_is_refused_after_a_pause_and_logged(netconf_daemon):
    started = time.monotonic()
    with pytest.raises(AuthenticationError):
        connecting.ncclient(netconf_daemon, password="wrong")

    assert time.monotonic() - started >= 0.9
    # The warning is written before the refusal is sent.
    assert re.search(
        r"WARNING .*\[peer 127\.0\.0\.1:\d+\] Refused the password of user 'admin'",
        netconf_daemon.log(),
    )


def test_unknown_user_is_refused(netconf_daemon):
    with pytest.raises(paramiko.AuthenticationException):
        RawClient(
            netconf_daemon.host, netconf_daemon.port, "nobody", password=netconf_daemon.password
        )


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_authorized_public_key_logs_in(netconf_daemon, kind):
    with connecting.raw(netconf_daemon, key=load_key(netconf_daemon.keys[kind])) as client:
        assert client.hello().findtext(f"{{{NC}}}session-id")


def test_ncclient_logs_in_with_a_key_file(netconf_daemon):
    key_file = str(netconf_daemon.keys["ed25519"])
    manager = connecting.ncclient(netconf_daemon, password=None, key_filename=key_file)
    try:
        assert manager.get_config(source="running").ok
    finally:
        manager.close_session()


def test_unlisted_public_key_is_refused(netconf_daemon):
    stranger = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(stranger.decode()))
    with pytest.raises(paramiko.AuthenticationException):
        connecting.raw(netconf_daemon, key=key)


@pytest.mark.parametrize("subsystem", ["sftp", "shell"])
def test_only_the_netconf_subsystem_is_granted(netconf_daemon, subsystem):
    with (
        connecting.raw(netconf_daemon, subsystem=None) as client,
        pytest.raises(paramiko.SSHException),
    ):
        client.channel.invoke_subsystem(subsystem)


def test_no_exec(netconf_daemon):
    with (
        connecting.raw(netconf_daemon, subsystem=None) as client,
        pytest.raises(paramiko.SSHException),
    ):
        client.channel.exec_command("id")


def test_no_shell(netconf_daemon):
    with (
        connecting.raw(netconf_daemon, subsystem=None) as client,
        pytest.raises(paramiko.SSHException),
    ):
        client.channel.invoke_shell()


def test_host_key_is_made_once_private_and_kept_across_restarts(start_daemon, tmp_path):
    folder = tmp_path / "device"
    first = start_daemon(folder)
    with connecting.raw(first) as client:
        key_before = client.transport.get_remote_server_key()
    assert first.stop() == 0

    key_file = folder / "state" / "ssh_host_ed25519_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    second = start_daemon(folder)
    with connecting.raw(second) as client:
        key_after = client.transport.get_remote_server_key()

    assert key_before.get_name() == "ssh-ed25519"
    assert key_after.asbytes() == key_before.asbytes()
