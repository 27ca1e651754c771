"""The startup datastore (RFC 6241 section 8.7), copy-config and delete-config.

The daemon of these tests has no cluster: startup is filled from inline configurations and
the candidate, and running only by a restart, whose reconciliation then waits for a cluster.
"""

from __future__ import annotations

import pytest
from lxml import etree
from ncclient.operations import RPCError

from protocol import connecting

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
STARTUP = "urn:ietf:params:netconf:capability:startup:1.0"
IMAGE = "docker.io/library/busybox:1.36"
IMAGES = (
    f'<images xmlns="{KA}"><image><name>{IMAGE}</name>'
    "<archive>busybox.tar</archive></image></images>"
)


def config(body: str) -> etree._Element:
    return etree.fromstring(f'<config xmlns="{NC}">{body}</config>')


def inline(body: str) -> etree._Element:
    """copy-config's source as ncclient takes an inline configuration."""
    return etree.fromstring(f'<source xmlns="{NC}"><config>{body}</config></source>')


def names(session, source: str) -> list[str]:
    return [e.text for e in session.get_config(source).data_ele.iter(f"{{{KA}}}name")]


@pytest.fixture
def session(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s:
        yield s
        # The daemon is shared by the tests: leave no startup and no candidate changes.
        s.delete_config("startup")
        s.discard_changes()


def test_the_server_advertises_the_startup_capability(session):
    assert STARTUP in session.server_capabilities


def test_copy_config_of_an_inline_config_to_startup_leaves_running_alone(session):
    assert session.copy_config(source=inline(IMAGES), target="startup").ok

    assert names(session, "startup") == [IMAGE]
    assert names(session, "running") == []


def test_copy_config_of_running_to_startup_saves_running(session):
    session.copy_config(source=inline(IMAGES), target="startup")

    assert session.copy_config(source="running", target="startup").ok

    assert names(session, "startup") == []


def test_copy_config_of_the_candidate_to_startup_saves_its_edits(session):
    session.edit_config(target="candidate", config=etree.tostring(config(IMAGES)).decode())

    assert session.copy_config(source="candidate", target="startup").ok

    assert names(session, "startup") == [IMAGE]


def test_startup_takes_only_a_valid_configuration(session):
    app = f'<apps xmlns="{KA}"><app><name>a</name><image>{IMAGE}</image></app></apps>'
    with pytest.raises(RPCError) as e:
        session.copy_config(source=inline(app), target="startup")
    assert e.value.tag == "data-missing"
    assert names(session, "startup") == []


def test_delete_config_empties_startup(session):
    session.copy_config(source=inline(IMAGES), target="startup")

    assert session.delete_config("startup").ok

    assert names(session, "startup") == []


def test_delete_config_of_running_is_refused(session):
    with pytest.raises(RPCError) as e:
        session.delete_config("running")
    assert e.value.tag == "invalid-value"


def test_copy_config_of_a_datastore_onto_itself_is_refused(session):
    with pytest.raises(RPCError) as e:
        session.copy_config(source="startup", target="startup")
    assert e.value.tag == "invalid-value"


def test_copy_config_to_startup_locked_by_another_session_is_in_use(session, netconf_daemon):
    with connecting.ncclient(netconf_daemon) as other:
        other.lock("startup")
        with pytest.raises(RPCError) as e:
            session.copy_config(source=inline(IMAGES), target="startup")
        assert e.value.tag == "in-use"
        with pytest.raises(RPCError) as e:
            session.delete_config("startup")
        assert e.value.tag == "in-use"
    assert names(session, "startup") == []


def test_copy_config_to_the_candidate_replaces_it_without_touching_running(session):
    assert session.copy_config(source=inline(IMAGES), target="candidate").ok

    assert names(session, "candidate") == [IMAGE]
    assert names(session, "running") == []


def test_after_a_restart_running_starts_from_startup(start_daemon, tmp_path):
    folder = tmp_path / "device"
    daemon = start_daemon(folder)
    with connecting.ncclient(daemon) as s:
        s.copy_config(source=inline(IMAGES), target="startup")
    assert daemon.stop() == 0

    daemon = start_daemon(folder)
    with connecting.ncclient(daemon) as s:
        assert names(s, "running") == [IMAGE]
        assert names(s, "candidate") == [IMAGE]
    assert (folder / "state" / "running.xml").exists()
