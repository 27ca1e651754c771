"""Confirmed commits (RFC 6241 section 8.4), cancel-commit, and error-option (section 8.5).

A commit that changes something needs a device behind the daemon: these tests start a
containerd of their own and let the daemon import an image archive into it, so a rollback
shows both in running and in containerd. The rules that need no change (errors, the
capabilities) are checked on the shared daemon.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from images import containerd_daemon
from lxml import etree
from ncclient.operations import RPCError

from protocol import connecting

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
CONFIRMED_COMMIT = "urn:ietf:params:netconf:capability:confirmed-commit:1.1"
ROLLBACK_ON_ERROR = "urn:ietf:params:netconf:capability:rollback-on-error:1.0"
IMAGE = "localhost/k3s-netconf/confirm:1"
ARCHIVE = "confirm.tar"
MKIMAGE = Path(__file__).resolve().parents[2] / "tools" / "mkimage"
# Bounds of the waits for a rollback: seconds, and polls in between.
ROLLBACK_WAIT = 30.0
POLL_SECONDS = 0.2


def config(body: str) -> str:
    return f'<config xmlns="{NC}">{body}</config>'


def image_xml() -> str:
    return (
        f'<images xmlns="{KA}"><image><name>{IMAGE}</name>'
        f"<archive>{ARCHIVE}</archive></image></images>"
    )


def images_in(session, source: str = "running") -> list[str]:
    data = session.get_config(source).data_ele
    return [e.text for e in data.iter(f"{{{KA}}}name") if e.getparent().tag == f"{{{KA}}}image"]


def until(check, within: float = ROLLBACK_WAIT) -> bool:
    """Poll ``check`` until it holds or ``within`` seconds have passed; its last answer."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(POLL_SECONDS)
    return check()


@pytest.fixture(scope="module")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[containerd_daemon.Containerd]:
    daemon = containerd_daemon.start(tmp_path_factory.mktemp("ctrd"))
    yield daemon
    containerd_daemon.stop(daemon)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("confirm-image") / ARCHIVE
    command = [sys.executable, str(MKIMAGE), "--ref", IMAGE, "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return out


@pytest.fixture
def device(start_daemon, containerd, archive, tmp_path):
    """A daemon of the test's own, importing images into the test containerd."""
    images = tmp_path / "images"
    images.mkdir()
    (images / ARCHIVE).write_bytes(archive.read_bytes())
    daemon = start_daemon(
        tmp_path / "daemon",
        images={"containerd_address": containerd.socket, "folder": str(images)},
    )
    yield daemon
    daemon.stop()
    for ref in containerd.image_refs():
        containerd.ctr("images", "rm", "--sync", ref)


@pytest.fixture
def session(device):
    with connecting.ncclient(device) as s:
        yield s


def stage_image(session) -> None:
    assert session.edit_config(target="candidate", config=config(image_xml())).ok


def rolled_back(device, containerd) -> bool:
    with connecting.ncclient(device) as other:
        return images_in(other) == [] and IMAGE not in containerd.image_refs()


# Capabilities and errors that need no change


def test_the_server_advertises_confirmed_commit_1_1_and_rollback_on_error(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s:
        assert CONFIRMED_COMMIT in s.server_capabilities
        assert ROLLBACK_ON_ERROR in s.server_capabilities


def test_cancel_commit_with_nothing_pending_is_operation_failed(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s, pytest.raises(RPCError) as e:
        s.cancel_commit()

    assert e.value.tag == "operation-failed"
    assert "no confirmed commit is pending" in e.value.message


def test_a_persist_id_with_nothing_pending_is_invalid_value(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s, pytest.raises(RPCError) as e:
        s.commit(persist_id="nothing")

    assert e.value.tag == "invalid-value"
    assert e.value.info is not None and "persist-id" in e.value.info


@pytest.mark.parametrize("timeout", ["0", "-1", "soon", "4294967296"])
def test_a_confirm_timeout_that_is_not_a_positive_uint32_is_invalid_value(netconf_daemon, timeout):
    with connecting.hello(netconf_daemon) as raw:
        reply = raw.rpc(
            f"<commit><confirmed/><confirm-timeout>{timeout}</confirm-timeout></commit>"
        )

        assert reply.findtext(f".//{{{NC}}}error-tag") == "invalid-value"
        assert "confirm-timeout" in reply.findtext(f".//{{{NC}}}error-message")
        # The session goes on.
        assert (
            raw.rpc("<get-config><source><running/></source></get-config>").find(f"{{{NC}}}data")
            is not None
        )


def test_a_confirm_timeout_without_confirmed_is_missing_element(netconf_daemon):
    with connecting.hello(netconf_daemon) as raw:
        reply = raw.rpc("<commit><confirm-timeout>5</confirm-timeout></commit>")

    assert reply.findtext(f".//{{{NC}}}error-tag") == "missing-element"
    assert reply.findtext(f".//{{{NC}}}bad-element") == "confirmed"


# Error options


def test_error_option_continue_on_error_is_operation_not_supported(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s, pytest.raises(RPCError) as e:
        s.edit_config(
            target="candidate", config=config(image_xml()), error_option="continue-on-error"
        )

    assert e.value.tag == "operation-not-supported"
    assert "rollback-on-error" in e.value.message


def test_rollback_on_error_leaves_the_datastore_unchanged_when_one_edit_fails(netconf_daemon):
    good = f"<image><name>{IMAGE}</name><archive>{ARCHIVE}</archive></image>"
    bad = "<image><name>not a reference</name><archive>x.tar</archive></image>"
    with connecting.ncclient(netconf_daemon) as s:
        with pytest.raises(RPCError) as e:
            s.edit_config(
                target="candidate",
                config=config(f'<images xmlns="{KA}">{good}{bad}</images>'),
                error_option="rollback-on-error",
            )

        assert e.value.tag == "invalid-value"
        assert images_in(s, "candidate") == []


def test_rollback_on_error_applies_an_edit_without_errors(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s:
        try:
            edited = s.edit_config(
                target="candidate", config=config(image_xml()), error_option="rollback-on-error"
            )

            assert edited.ok
            assert images_in(s, "candidate") == [IMAGE]
        finally:
            s.discard_changes()


# The confirm window, on a device


def test_a_confirmed_commit_not_confirmed_in_time_is_rolled_back_with_its_image(
    session, device, containerd
):
    stage_image(session)

    assert session.commit(confirmed=True, timeout="2").ok
    assert images_in(session) == [IMAGE]
    assert IMAGE in containerd.image_refs()

    assert until(lambda: rolled_back(device, containerd))
    assert images_in(session, "candidate") == []
    assert not (device.folder / "state" / "confirm-rollback.xml").exists()


def test_a_confirming_commit_keeps_the_change_past_the_timeout(session, containerd):
    stage_image(session)
    session.commit(confirmed=True, timeout="1")

    assert session.commit().ok

    # Past the timeout the change is still in place.
    time.sleep(2)
    assert images_in(session) == [IMAGE]
    assert IMAGE in containerd.image_refs()


def test_cancel_commit_rolls_back_at_once(session, containerd):
    stage_image(session)
    session.commit(confirmed=True, timeout="600")

    assert session.cancel_commit().ok

    assert images_in(session) == []
    assert IMAGE not in containerd.image_refs()


def test_a_follow_up_confirmed_commit_rearms_the_timer_and_keeps_the_first_rollback_point(
    session, containerd
):
    stage_image(session)
    session.commit(confirmed=True, timeout="1")

    assert session.commit(confirmed=True, timeout="600").ok
    time.sleep(2)
    assert images_in(session) == [IMAGE]

    session.cancel_commit()
    assert images_in(session) == []


def test_closing_the_session_rolls_back_its_confirmed_commit(device, containerd):
    s = connecting.ncclient(device)
    stage_image(s)
    s.commit(confirmed=True, timeout="600")

    assert s.close_session().ok

    assert until(lambda: rolled_back(device, containerd))


def test_dropping_the_connection_rolls_back_its_confirmed_commit(device, containerd):
    s = connecting.ncclient(device)
    stage_image(s)
    s.commit(confirmed=True, timeout="600")

    # No close-session: the transport just goes away.
    s._session.close()

    assert until(lambda: rolled_back(device, containerd))


def test_kill_session_of_another_session_rolls_back_its_confirmed_commit(
    device, containerd, session
):
    victim = connecting.ncclient(device)
    stage_image(victim)
    victim.commit(confirmed=True, timeout="600")

    assert session.kill_session(victim.session_id).ok

    # Rolled back before the <ok/>.
    assert images_in(session) == []
    assert IMAGE not in containerd.image_refs()
    assert until(lambda: not victim.connected, within=10)


def test_another_session_may_not_confirm_a_confirmed_commit_without_persist(device, session):
    with connecting.ncclient(device) as other:
        stage_image(session)
        session.commit(confirmed=True, timeout="600")

        with pytest.raises(RPCError) as e:
            other.commit()

        assert e.value.tag == "in-use"
        assert str(session.session_id) in e.value.message
    session.cancel_commit()


def test_a_persistent_confirmed_commit_survives_its_session_and_needs_its_persist_id(
    device, containerd
):
    with connecting.ncclient(device) as first:
        stage_image(first)
        first.commit(confirmed=True, timeout="600", persist="change-42")

    with connecting.ncclient(device) as second:
        assert images_in(second) == [IMAGE]

        with pytest.raises(RPCError) as e:
            second.cancel_commit(persist_id="change-41")
        assert e.value.tag == "invalid-value"
        assert "does not match" in e.value.message

        with pytest.raises(RPCError) as e:
            second.commit()
        assert e.value.tag == "invalid-value"
        assert "<persist-id>" in e.value.message
        assert images_in(second) == [IMAGE]

        assert second.cancel_commit(persist_id="change-42").ok
        assert images_in(second) == []
        assert IMAGE not in containerd.image_refs()


def test_a_persistent_confirmed_commit_is_confirmed_from_another_session_by_persist_id(device):
    with connecting.ncclient(device) as first:
        stage_image(first)
        first.commit(confirmed=True, timeout="2", persist="p")

    with connecting.ncclient(device) as second:
        assert second.commit(persist_id="p").ok

        time.sleep(3)
        assert images_in(second) == [IMAGE]


def test_a_confirmed_commit_pending_when_the_daemon_dies_is_rolled_back_on_start(
    device, start_daemon
):
    with connecting.ncclient(device) as s:
        stage_image(s)
        s.commit(confirmed=True, timeout="600", persist="crash")
    saved = etree.parse(str(device.folder / "state" / "running.xml")).getroot()
    assert IMAGE in [e.text for e in saved.iter(f"{{{KA}}}name")]

    # A crash: no session ends, nothing is rolled back before the daemon is gone.
    os.kill(device.process.pid, signal.SIGKILL)
    device.process.wait(10)
    restarted = start_daemon(device.folder)

    with connecting.ncclient(restarted) as s:
        assert images_in(s) == []
        with pytest.raises(RPCError) as e:
            s.cancel_commit(persist_id="crash")
        assert e.value.tag == "operation-failed"
    assert not (device.folder / "state" / "confirm-rollback.xml").exists()


def test_a_follow_up_may_give_a_new_persist_which_then_names_the_commit(device, containerd):
    # ncclient refuses persist and persist-id in one commit; RFC 6241 8.4.5.1 allows them.
    with connecting.hello(device) as raw:
        raw.rpc(f"<edit-config><target><candidate/></target>{config(image_xml())}</edit-config>")
        first = raw.rpc("<commit><confirmed/><persist>old</persist></commit>")
        follow_up = raw.rpc(
            "<commit><confirmed/><persist>new</persist><persist-id>old</persist-id></commit>"
        )
        stale = raw.rpc("<cancel-commit><persist-id>old</persist-id></cancel-commit>")
        cancelled = raw.rpc("<cancel-commit><persist-id>new</persist-id></cancel-commit>")

    assert first.find(f"{{{NC}}}ok") is not None
    assert follow_up.find(f"{{{NC}}}ok") is not None
    assert stale.findtext(f".//{{{NC}}}error-tag") == "invalid-value"
    assert cancelled.find(f"{{{NC}}}ok") is not None
    assert until(lambda: rolled_back(device, containerd))


def test_a_persistent_confirmed_commit_pending_when_the_daemon_stops_is_rolled_back_on_start(
    device, start_daemon
):
    with connecting.ncclient(device) as s:
        stage_image(s)
        s.commit(confirmed=True, timeout="600", persist="stop")

    assert device.stop() == 0
    assert (device.folder / "state" / "confirm-rollback.xml").exists()
    restarted = start_daemon(device.folder)

    with connecting.ncclient(restarted) as s:
        assert images_in(s) == []
        assert images_in(s, "candidate") == []
    assert "running goes back to the configuration from before it" in restarted.log()


def test_a_rollback_that_fails_stays_pending_and_is_tried_again(
    start_daemon, archive, tmp_path, tmp_path_factory
):
    # A containerd of this test's own, stopped while the rollback needs it.
    base = tmp_path_factory.mktemp("ctrd-retry")
    runtime = containerd_daemon.start(base)
    try:
        images = tmp_path / "images"
        images.mkdir()
        (images / ARCHIVE).write_bytes(archive.read_bytes())
        daemon = start_daemon(
            tmp_path / "daemon",
            images={"containerd_address": runtime.socket, "folder": str(images)},
        )
        with connecting.ncclient(daemon) as s:
            stage_image(s)
            s.commit(confirmed=True, timeout="1", persist="retry")
            containerd_daemon.stop(runtime)

            assert until(lambda: "Could not roll back the confirmed commit" in daemon.log())
            assert images_in(s) == [IMAGE]

            runtime = containerd_daemon.start(base)
            assert until(lambda: images_in(s) == [])
            assert IMAGE not in runtime.image_refs()
    finally:
        containerd_daemon.stop(runtime)
