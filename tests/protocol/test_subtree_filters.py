"""Subtree filters over SSH (RFC 6241 section 6, examples 6.4.5 and 6.4.6).

The daemon of these tests has no cluster, so the data filtered is the candidate's: two apps
built there by edit-config, read back by get-config with a filter.
"""

from __future__ import annotations

import pytest
from lxml import etree

from protocol import connecting
from protocol.xmlcheck import same_xml

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
IMAGE = "docker.io/library/busybox:1.36"


@pytest.fixture
def daemon(start_daemon):
    started = start_daemon()
    with connecting.ncclient(started) as session:
        session.edit_config(
            target="candidate",
            config=(
                f'<config xmlns="{NC}"><images xmlns="{KA}"><image><name>{IMAGE}</name>'
                f'<archive>busybox.tar</archive></image></images><apps xmlns="{KA}">'
                f"<app><name>web</name><image>{IMAGE}</image><replicas>2</replicas>"
                "<env><name>MODE</name><value>demo</value></env></app>"
                f"<app><name>api</name><image>{IMAGE}</image><replicas>1</replicas></app>"
                "</apps></config>"
            ),
        )
    return started


def get_config(daemon, body: str | None = None) -> etree._Element:
    """The candidate's <data>, filtered by the subtree ``body`` when one is given."""
    with connecting.ncclient(daemon) as session:
        filter_ = ("subtree", body) if body is not None else None
        return session.get_config("candidate", filter=filter_).data_ele


def test_a_content_match_on_the_key_returns_only_that_entry_with_all_its_children(daemon):
    data = get_config(daemon, f'<apps xmlns="{KA}"><app><name>web</name></app></apps>')

    whole = get_config(daemon)
    web = next(a for a in whole.iter(f"{{{KA}}}app") if a.findtext(f"{{{KA}}}name") == "web")
    expected = etree.Element(f"{{{NC}}}data")
    etree.SubElement(expected, f"{{{KA}}}apps").append(web)
    assert same_xml(data, expected), etree.tostring(data)
    # The entry is whole, lists inside it too.
    assert data.findtext(f".//{{{KA}}}env/{{{KA}}}value") == "demo"


def test_a_selection_node_returns_only_that_leaf_of_every_entry(daemon):
    data = get_config(daemon, f'<apps xmlns="{KA}"><app><name/></app></apps>')

    assert same_xml(
        data,
        f'<data xmlns="{NC}"><apps xmlns="{KA}">'
        "<app><name>web</name></app><app><name>api</name></app></apps></data>",
    ), etree.tostring(data)


def test_a_content_match_with_selection_nodes_returns_only_the_selected_children(daemon):
    data = get_config(
        daemon, f'<apps xmlns="{KA}"><app><name>web</name><replicas/><image/></app></apps>'
    )

    assert same_xml(
        data,
        f'<data xmlns="{NC}"><apps xmlns="{KA}"><app><name>web</name>'
        f"<image>{IMAGE}</image><replicas>2</replicas></app></apps></data>",
    ), etree.tostring(data)


def test_a_content_match_on_a_missing_key_returns_no_data(daemon):
    data = get_config(daemon, f'<apps xmlns="{KA}"><app><name>nope</name></app></apps>')

    assert same_xml(data, f'<data xmlns="{NC}"/>'), etree.tostring(data)
