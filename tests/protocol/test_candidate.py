"""The candidate datastore (RFC 6241 section 8.3) and its lock rules (section 7.5).

The daemon of these tests has no cluster, so the candidate holds images only (an image is
imported by a commit, never by an edit of the candidate), and the commits here are of no
change or refused before any step.
"""

from __future__ import annotations

import time

import pytest
from ncclient.operations import RPCError

from protocol import connecting

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
CANDIDATE = "urn:ietf:params:netconf:capability:candidate:1.0"
IMAGE = "docker.io/library/busybox:1.36"


def config(body: str) -> str:
    return f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>'


def image_xml(name: str = IMAGE) -> str:
    return (
        f'<images xmlns="{KA}"><image><name>{name}</name>'
        "<archive>busybox.tar</archive></image></images>"
    )


def app_xml(name: str, image: str) -> str:
    return f'<apps xmlns="{KA}"><app><name>{name}</name><image>{image}</image></app></apps>'


def images_in(session, source: str) -> list[str]:
    data = session.get_config(source).data_ele
    return [e.text for e in data.iter(f"{{{KA}}}name") if e.getparent().tag == f"{{{KA}}}image"]


@pytest.fixture
def session(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s:
        yield s
        # The daemon is shared by the tests: leave its candidate as running again.
        s.discard_changes()


def test_the_server_advertises_the_candidate_capability(session):
    assert CANDIDATE in session.server_capabilities


def test_an_edit_of_the_candidate_shows_in_the_candidate_and_not_in_running(session):
    assert session.edit_config(target="candidate", config=config(image_xml())).ok

    assert images_in(session, "candidate") == [IMAGE]
    assert images_in(session, "running") == []


def test_discard_changes_makes_the_candidate_running_again(session):
    session.edit_config(target="candidate", config=config(image_xml()))

    assert session.discard_changes().ok

    assert images_in(session, "candidate") == []


def test_the_candidate_may_be_invalid_until_commit_and_a_refused_commit_keeps_it(session):
    # The app names an image no edit has configured: the leafref fails only at commit.
    session.edit_config(target="candidate", config=config(app_xml("a", IMAGE)))

    with pytest.raises(RPCError) as e:
        session.commit()

    assert e.value.tag == "data-missing"
    assert e.value.path == "/ka:apps/ka:app[ka:name='a']/ka:image"
    data = session.get_config("candidate").data_ele
    assert data.find(f"{{{KA}}}apps") is not None
    assert session.get_config("running").data_ele.find(f"{{{KA}}}apps") is None


def test_a_commit_without_changes_is_ok_and_leaves_both_datastores_empty(session):
    assert session.commit().ok
    assert images_in(session, "candidate") == images_in(session, "running") == []


def test_a_lock_on_the_candidate_is_refused_while_it_holds_another_sessions_changes(
    session, netconf_daemon
):
    session.edit_config(target="candidate", config=config(image_xml()))
    with connecting.ncclient(netconf_daemon) as other:
        with pytest.raises(RPCError) as e:
            other.lock("candidate")
        assert e.value.tag == "lock-denied"
        assert session.session_id in (e.value.info or "")

        session.discard_changes()
        assert other.lock("candidate").ok
        other.unlock("candidate")


def test_the_session_that_changed_the_candidate_may_lock_it(session):
    session.edit_config(target="candidate", config=config(image_xml()))
    assert session.lock("candidate").ok
    assert session.unlock("candidate").ok


def test_an_edit_of_the_candidate_locked_by_another_session_is_in_use(session, netconf_daemon):
    with connecting.ncclient(netconf_daemon) as other:
        other.lock("candidate")
        with pytest.raises(RPCError) as e:
            session.edit_config(target="candidate", config=config(image_xml()))
        assert e.value.tag == "in-use"
        with pytest.raises(RPCError) as e:
            session.discard_changes()
        assert e.value.tag == "in-use"
        with pytest.raises(RPCError) as e:
            session.commit()
        assert e.value.tag == "in-use"
    assert images_in(session, "candidate") == []


def test_the_changes_of_a_lock_holder_are_discarded_when_its_session_ends(session, netconf_daemon):
    with connecting.ncclient(netconf_daemon) as holder:
        holder.lock("candidate")
        holder.edit_config(target="candidate", config=config(image_xml()))
        assert images_in(session, "candidate") == [IMAGE]

    assert _eventually(lambda: images_in(session, "candidate") == [])
    assert session.lock("candidate").ok
    session.unlock("candidate")


def test_the_changes_of_a_session_without_the_lock_outlive_it(session, netconf_daemon):
    with connecting.ncclient(netconf_daemon) as editor:
        editor.edit_config(target="candidate", config=config(image_xml()))

    time.sleep(0.5)
    assert images_in(session, "candidate") == [IMAGE]


def _eventually(check, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
