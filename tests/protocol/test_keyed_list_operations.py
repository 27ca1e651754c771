"""edit-config operations on a keyed list (RFC 6241 section 7.2) where the entry exists.

The daemon of these tests has no cluster, so the entries live in the candidate; the cases
of a missing entry are in test_edit_config.py, on running.
"""

from __future__ import annotations

import pytest
from ncclient.operations import RPCError

from protocol import connecting

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
IMAGE = "docker.io/library/busybox:1.36"


def config(body: str) -> str:
    return f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>'


def image(operation: str = "", archive: str = "busybox.tar") -> str:
    attribute = f' nc:operation="{operation}"' if operation else ""
    return (
        f'<images xmlns="{KA}"><image{attribute}><name>{IMAGE}</name>'
        f"<archive>{archive}</archive></image></images>"
    )


def archives(session) -> list[str]:
    data = session.get_config("candidate").data_ele
    return [e.text for e in data.iter(f"{{{KA}}}archive")]


@pytest.fixture
def session(start_daemon):
    with connecting.ncclient(start_daemon()) as s:
        s.edit_config(target="candidate", config=config(image()))
        yield s


def test_create_of_an_existing_entry_is_data_exists_and_changes_nothing(session):
    with pytest.raises(RPCError) as e:
        session.edit_config(target="candidate", config=config(image("create", "other.tar")))

    assert (e.value.type, e.value.tag) == ("application", "data-exists")
    assert e.value.path == f"/ka:images/ka:image[ka:name='{IMAGE}']"
    assert archives(session) == ["busybox.tar"]


def test_delete_of_an_existing_entry_removes_it(session):
    assert session.edit_config(target="candidate", config=config(image("delete"))).ok

    assert archives(session) == []


def test_default_operation_none_leaves_an_existing_entry_as_it_is_without_an_operation(session):
    reply = session.edit_config(
        target="candidate", config=config(image(archive="other.tar")), default_operation="none"
    )

    assert reply.ok
    assert archives(session) == ["busybox.tar"]


def test_default_operation_none_applies_only_the_operation_a_node_names(session):
    edit = (
        f'<images xmlns="{KA}"><image><name>{IMAGE}</name>'
        '<archive nc:operation="replace">other.tar</archive></image></images>'
    )
    reply = session.edit_config(target="candidate", config=config(edit), default_operation="none")

    assert reply.ok
    assert archives(session) == ["other.tar"]


FOREIGN_CHILD = (
    f'<images xmlns="{KA}"><image><name>{IMAGE}</name>'
    '<x:extra xmlns:x="urn:example:unknown">1</x:extra></image></images>'
)
FOREIGN_OPERATION = (
    f'<images xmlns="{KA}"><image xmlns:x="urn:example:unknown" x:operation="delete">'
    f"<name>{IMAGE}</name></image></images>"
)


@pytest.mark.parametrize(
    ("body", "tag"),
    [
        ('<apps xmlns="urn:example:unknown"><app><name>x</name></app></apps>', "unknown-namespace"),
        (FOREIGN_CHILD, "unknown-element"),
        (
            f'<images xmlns="{KA}"><image operation="delete"><name>{IMAGE}</name></image></images>',
            "unknown-attribute",
        ),
        (FOREIGN_OPERATION, "unknown-attribute"),
    ],
)
def test_an_edit_of_the_candidate_outside_the_model_is_refused_as_on_running(session, body, tag):
    # The candidate defers the model's constraints to commit, never the structure of an edit.
    with pytest.raises(RPCError) as e:
        session.edit_config(target="candidate", config=config(body))

    assert e.value.tag == tag
    assert archives(session) == ["busybox.tar"]
