"""edit-config over SSH with ncclient: the errors of RFC 6241 section 7.2 that need no cluster.

The daemon of these tests has no cluster, so every edit here fails or changes nothing; the
edits that succeed are in the end-to-end tier.
"""

from __future__ import annotations

import pytest
from ncclient.operations import RPCError

from protocol import connecting

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"


def edit(session, body: str, **options):
    return session.edit_config(
        target="running", config=f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>', **options
    )


@pytest.fixture
def session(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s:
        yield s


def empty(session) -> bool:
    return session.get_config("running").data_ele.find(f"{{{KA}}}apps") is None


def test_an_element_in_an_unknown_namespace_is_unknown_namespace_not_ok(session):
    with pytest.raises(RPCError) as e:
        edit(session, '<apps xmlns="urn:example:unknown"><app><name>x</name></app></apps>')
    assert e.value.tag == "unknown-namespace"
    assert e.value.info and "urn:example:unknown" in e.value.info
    assert empty(session)


def test_delete_of_a_missing_app_is_data_missing(session):
    with pytest.raises(RPCError) as e:
        edit(
            session, f'<apps xmlns="{KA}"><app nc:operation="delete"><name>nope</name></app></apps>'
        )
    assert (e.value.type, e.value.tag) == ("application", "data-missing")
    assert e.value.path == "/ka:apps/ka:app[ka:name='nope']"


def test_remove_of_a_missing_app_is_ok_and_creates_nothing(session):
    reply = edit(
        session, f'<apps xmlns="{KA}"><app nc:operation="remove"><name>nope</name></app></apps>'
    )
    assert reply.ok
    assert empty(session)


def test_default_operation_none_on_a_missing_app_is_data_missing(session):
    with pytest.raises(RPCError) as e:
        edit(
            session,
            f'<apps xmlns="{KA}"><app><name>nope</name><replicas>2</replicas></app></apps>',
            default_operation="none",
        )
    assert e.value.tag == "data-missing"
    assert empty(session)


def test_an_operation_attribute_without_the_netconf_namespace_is_unknown_attribute(session):
    with pytest.raises(RPCError) as e:
        edit(session, f'<apps xmlns="{KA}"><app operation="delete"><name>x</name></app></apps>')
    assert e.value.tag == "unknown-attribute"
    assert "bad-attribute" in e.value.info


def test_an_invalid_value_names_its_path_and_changes_nothing(session):
    app = (
        f'<apps xmlns="{KA}"><app><name>Web</name><image>docker.io/library/busybox:1.36</image>'
        "</app></apps>"
    )
    with pytest.raises(RPCError) as e:
        edit(session, app)
    assert e.value.tag == "invalid-value"
    assert e.value.path == "/ka:apps/ka:app[ka:name='Web']/ka:name"
    assert empty(session)


def test_an_edit_that_needs_the_cluster_fails_cleanly_and_the_session_goes_on(session):
    image = (
        f'<images xmlns="{KA}"><image><name>docker.io/library/busybox:1.36</name>'
        "<archive>busybox.tar</archive></image></images>"
    )
    with pytest.raises(RPCError) as e:
        edit(session, image)
    assert e.value.tag in ("operation-failed", "invalid-value")
    assert session.get_config("running").ok


def test_the_error_path_prefix_is_declared_where_the_client_reads_it(session):
    app = (
        f'<apps xmlns="{KA}"><app><name>Web</name><image>docker.io/library/busybox:1.36</image>'
        "</app></apps>"
    )
    with pytest.raises(RPCError) as e:
        edit(session, app)
    path = e.value.xml.find(f"{{{NC}}}error-path")
    assert path.nsmap["ka"] == KA
