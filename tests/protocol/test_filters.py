"""Subtree and xpath filters of get and get-config over SSH, driven by ncclient.

The daemon of these tests has no cluster, so the data filtered is the candidate's, which an
edit fills without any commit, and get's live state is the forwarding state, always reported.
"""

from __future__ import annotations

import pytest
from ncclient.operations import RPCError

from protocol import connecting

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
XPATH = "urn:ietf:params:netconf:capability:xpath:1.0"
CONFIG = (
    f'<config xmlns="{NC}"><images xmlns="{KA}">'
    "<image><name>docker.io/library/busybox:1.36</name><archive>busybox.tar</archive></image>"
    f'</images><apps xmlns="{KA}">'
    "<app><name>web</name><image>docker.io/library/busybox:1.36</image><replicas>2</replicas></app>"
    "<app><name>api</name><image>docker.io/library/busybox:1.36</image><replicas>1</replicas></app>"
    "</apps></config>"
)


@pytest.fixture
def session(netconf_daemon):
    with connecting.candidate_holding(netconf_daemon, CONFIG) as s:
        yield s


def subtree(session, body: str):
    return session.get_config("candidate", filter=("subtree", body)).data_ele


def xpath(session, expression: str):
    return session.get_config("candidate", filter=("xpath", ({"ka": KA}, expression))).data_ele


def apps(data) -> list[list[str]]:
    """Each app entry of a reply as the local names of its children."""
    return [[child.tag.split("}")[1] for child in app] for app in data.iterfind(f".//{{{KA}}}app")]


def test_a_content_match_on_the_key_returns_only_that_entry_with_all_its_children(session):
    data = subtree(session, f'<apps xmlns="{KA}"><app><name>web</name></app></apps>')
    assert apps(data) == [["name", "image", "replicas"]]
    assert data.findtext(f".//{{{KA}}}replicas") == "2"
    assert data.find(f"{{{KA}}}images") is None


def test_a_selection_node_returns_only_that_leaf_of_every_entry(session):
    data = subtree(session, f'<apps xmlns="{KA}"><app><name/></app></apps>')
    assert apps(data) == [["name"], ["name"]]
    assert [e.text for e in data.iterfind(f".//{{{KA}}}name")] == ["web", "api"]


def test_a_content_match_with_selection_nodes_returns_only_the_selected_children(session):
    data = subtree(session, f'<apps xmlns="{KA}"><app><name>api</name><replicas/></app></apps>')
    assert apps(data) == [["name", "replicas"]]
    assert data.findtext(f".//{{{KA}}}replicas") == "1"


def test_content_matches_on_a_key_and_a_non_key_leaf_must_both_hold(session):
    body = f'<apps xmlns="{KA}"><app><name>api</name><replicas>2</replicas></app></apps>'
    assert apps(subtree(session, body)) == []


def test_the_server_advertises_the_xpath_capability(session):
    assert XPATH in session.server_capabilities


def test_an_xpath_filter_returns_the_selected_leaves_with_their_entries_keys(session):
    data = xpath(session, "/ka:apps/ka:app[ka:replicas > 1]/ka:image")
    assert apps(data) == [["name", "image"]]
    assert data.findtext(f".//{{{KA}}}name") == "web"


def test_an_xpath_filter_on_get_selects_live_state(session):
    data = session.get(filter=("xpath", ({"ka": KA}, "/ka:port-forwarding/ka:state"))).data_ele
    assert data.find(f"{{{KA}}}port-forwarding/{{{KA}}}state") is not None
    assert data.find(f"{{{KA}}}apps") is None


def test_an_xpath_filter_with_an_unknown_prefix_is_invalid_value_and_the_session_lives(session):
    with pytest.raises(RPCError) as e:
        session.get_config("candidate", filter=("xpath", "/nope:apps"))
    assert (e.value.type, e.value.tag) == ("protocol", "invalid-value")
    assert "nope:apps" in e.value.message
    assert apps(xpath(session, "/ka:apps/ka:app")) == [["name", "image", "replicas"]] * 2


def test_a_malformed_xpath_filter_is_invalid_value(session):
    with pytest.raises(RPCError) as e:
        xpath(session, "/ka:apps/ka:app[")
    assert e.value.tag == "invalid-value"
