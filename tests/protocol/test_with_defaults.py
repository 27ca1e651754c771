"""The with-defaults capability (RFC 6243) over SSH, each mode driven by ncclient.

The daemon of these tests has no cluster, so the data read is the candidate's, which an edit
fills without any commit.
"""

from __future__ import annotations

import pytest
from lxml import etree
from ncclient.operations import RPCError

from protocol import connecting
from protocol.xmlcheck import same_xml

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
WD = "urn:ietf:params:xml:ns:netconf:default:1.0"
WD_MODULE = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
WITH_DEFAULTS = (
    "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit"
    "&also-supported=report-all,report-all-tagged,trim"
)
IMAGE = "docker.io/library/busybox:1.36"
# replicas is set to its default value, termination-grace-period is left to its default.
CONFIG = (
    f'<config xmlns="{NC}"><images xmlns="{KA}">'
    f"<image><name>{IMAGE}</name><archive>busybox.tar</archive></image>"
    f'</images><apps xmlns="{KA}">'
    f"<app><name>web</name><image>{IMAGE}</image><replicas>1</replicas></app>"
    "</apps></config>"
)


@pytest.fixture
def session(netconf_daemon):
    with connecting.candidate_holding(netconf_daemon, CONFIG) as s:
        yield s


def app(session, mode: str | None) -> etree._Element:
    data = session.get_config("candidate", with_defaults=mode).data_ele
    return data.find(f"{{{KA}}}apps/{{{KA}}}app")


def test_the_server_advertises_with_defaults_and_its_module(session):
    assert WITH_DEFAULTS in session.server_capabilities
    module = [c for c in session.server_capabilities if c.startswith(f"{WD_MODULE}?")]
    assert module == [f"{WD_MODULE}?module=ietf-netconf-with-defaults&revision=2011-06-01"]


def test_explicit_reports_what_was_set_and_nothing_else(session):
    entry = app(session, "explicit")
    assert entry.findtext(f"{{{KA}}}replicas") == "1"
    assert entry.find(f"{{{KA}}}termination-grace-period") is None


def test_without_the_parameter_the_basic_mode_explicit_applies(session):
    assert same_xml(app(session, None), app(session, "explicit"))


def test_report_all_reports_the_defaults_of_the_model(session):
    entry = app(session, "report-all")
    assert entry.findtext(f"{{{KA}}}termination-grace-period") == "30"
    assert entry.findtext(f"{{{KA}}}enabled") == "true"
    assert entry.find(f"{{{KA}}}termination-grace-period").get(f"{{{WD}}}default") is None


def test_report_all_tagged_tags_the_defaults_and_values_equal_to_them(session):
    entry = app(session, "report-all-tagged")
    for name in ("termination-grace-period", "replicas"):
        assert entry.find(f"{{{KA}}}{name}").get(f"{{{WD}}}default") == "true"
    assert entry.find(f"{{{KA}}}image").get(f"{{{WD}}}default") is None


def test_trim_leaves_out_a_value_equal_to_its_default(session):
    entry = app(session, "trim")
    assert entry.find(f"{{{KA}}}replicas") is None
    assert entry.findtext(f"{{{KA}}}image") == IMAGE


def test_report_all_on_get_and_a_filter_see_the_filled_in_defaults(session):
    data = session.get_config(
        "candidate",
        filter=("subtree", f'<apps xmlns="{KA}"><app><enabled>true</enabled></app></apps>'),
        with_defaults="report-all",
    ).data_ele
    assert data.findtext(f".//{{{KA}}}app/{{{KA}}}name") == "web"
    state = session.get(with_defaults="report-all").data_ele
    assert state.find(f"{{{KA}}}port-forwarding") is not None


def test_an_unknown_mode_is_invalid_value_and_the_candidate_is_unchanged(session):
    before = session.get_config("candidate").data_xml
    with pytest.raises(RPCError) as e:
        session.dispatch(
            etree.fromstring(
                f'<get-config xmlns="{NC}"><source><candidate/></source>'
                f'<with-defaults xmlns="{WD_MODULE}">everything</with-defaults></get-config>'
            )
        )
    assert (e.value.type, e.value.tag) == ("protocol", "invalid-value")
    assert "report-all" in e.value.message
    assert same_xml(session.get_config("candidate").data_xml, before)


def test_copy_config_with_trim_copies_without_values_equal_to_their_default(start_daemon):
    daemon = start_daemon()
    with connecting.ncclient(daemon) as s:
        s.edit_config(target="candidate", config=CONFIG)
        s.dispatch(
            etree.fromstring(
                f'<copy-config xmlns="{NC}"><target><startup/></target>'
                "<source><candidate/></source>"
                f'<with-defaults xmlns="{WD_MODULE}">trim</with-defaults></copy-config>'
            )
        )
        entry = s.get_config("startup").data_ele.find(f"{{{KA}}}apps/{{{KA}}}app")
        assert entry.findtext(f"{{{KA}}}name") == "web"
        assert entry.find(f"{{{KA}}}replicas") is None


def test_an_edit_may_send_back_a_tagged_default_but_not_a_tagged_other_value(session):
    def edit(value: str):
        return session.edit_config(
            target="candidate",
            config=(
                f'<config xmlns="{NC}" xmlns:wd="{WD}"><apps xmlns="{KA}"><app><name>web</name>'
                f'<termination-grace-period wd:default="true">{value}</termination-grace-period>'
                "</app></apps></config>"
            ),
        )

    assert edit("30").ok
    assert app(session, "explicit").findtext(f"{{{KA}}}termination-grace-period") == "30"
    with pytest.raises(RPCError) as e:
        edit("5")
    assert (e.value.type, e.value.tag) == ("application", "invalid-value")
    assert app(session, "explicit").findtext(f"{{{KA}}}termination-grace-period") == "30"
