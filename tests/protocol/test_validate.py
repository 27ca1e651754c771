"""The validate operation and edit-config's test-option (RFC 6241 section 8.6).

The daemon of these tests has no cluster: nothing here commits a change to running.
"""

from __future__ import annotations

import pytest
from lxml import etree
from ncclient.operations import RPCError

from protocol import connecting

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
VALIDATE = "urn:ietf:params:netconf:capability:validate:1.1"
IMAGE = "docker.io/library/busybox:1.36"
IMAGES = (
    f'<images xmlns="{KA}"><image><name>{IMAGE}</name>'
    "<archive>busybox.tar</archive></image></images>"
)


def config(body: str) -> str:
    return f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>'


def app(name: str, body: str = "") -> str:
    return f'<apps xmlns="{KA}"><app><name>{name}</name><image>{IMAGE}</image>{body}</app></apps>'


ETC_VOLUME = (
    "<volume><name>etc</name><host-path>/etc</host-path><mount-path>/host-etc</mount-path></volume>"
)


@pytest.fixture
def session(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as s:
        yield s
        s.discard_changes()


def names(session, source: str) -> list[str]:
    return [e.text for e in session.get_config(source).data_ele.iter(f"{{{KA}}}name")]


def test_the_server_advertises_validate_1_1(session):
    assert VALIDATE in session.server_capabilities


def test_validate_of_running_and_of_an_unchanged_candidate_is_ok(session):
    assert session.validate("running").ok
    assert session.validate("candidate").ok


def test_validate_of_an_inline_config_that_is_complete_is_ok(session):
    assert session.validate(etree.fromstring(config(IMAGES + app("a")))).ok


def test_validate_of_an_inline_config_names_the_missing_reference(session):
    with pytest.raises(RPCError) as e:
        session.validate(etree.fromstring(config(app("a"))))
    assert e.value.tag == "data-missing"
    assert e.value.path == "/ka:apps/ka:app[ka:name='a']/ka:image"


def test_validate_of_an_inline_config_with_a_bad_value_is_invalid_value(session):
    bad = app("a", "<replicas>many</replicas>")
    with pytest.raises(RPCError) as e:
        session.validate(etree.fromstring(config(IMAGES + bad)))
    assert e.value.tag == "invalid-value"


def test_validate_checks_host_paths_against_the_allowed_roots(session):
    with pytest.raises(RPCError) as e:
        session.validate(etree.fromstring(config(IMAGES + app("a", ETC_VOLUME))))
    assert e.value.tag == "invalid-value"
    assert e.value.path.endswith("ka:volume[ka:name='etc']/ka:host-path")


def test_validate_of_the_candidate_sees_its_uncommitted_edits(session):
    session.edit_config(target="candidate", config=config(app("a")))
    with pytest.raises(RPCError) as e:
        session.validate("candidate")
    assert e.value.tag == "data-missing"

    session.edit_config(target="candidate", config=config(IMAGES))
    assert session.validate("candidate").ok


def test_test_only_on_running_checks_the_edit_and_changes_nothing(session):
    assert session.edit_config(
        target="running", config=config(IMAGES + app("a")), test_option="test-only"
    ).ok
    assert names(session, "running") == []

    with pytest.raises(RPCError) as e:
        session.edit_config(target="running", config=config(app("a")), test_option="test-only")
    assert e.value.tag == "data-missing"


def test_test_only_on_the_candidate_leaves_it_unchanged(session):
    assert session.edit_config(
        target="candidate", config=config(IMAGES), test_option="test-only"
    ).ok
    assert names(session, "candidate") == []


def test_test_then_set_refuses_an_invalid_candidate_and_set_takes_it(session):
    with pytest.raises(RPCError) as e:
        session.edit_config(
            target="candidate", config=config(app("a")), test_option="test-then-set"
        )
    assert e.value.tag == "data-missing"
    assert names(session, "candidate") == []

    assert session.edit_config(target="candidate", config=config(app("a")), test_option="set").ok
    assert names(session, "candidate") == ["a"]


def test_test_then_set_checks_host_paths_before_the_candidate_takes_them(session):
    with pytest.raises(RPCError) as e:
        session.edit_config(
            target="candidate",
            config=config(IMAGES + app("a", ETC_VOLUME)),
            test_option="test-then-set",
        )
    assert e.value.tag == "invalid-value"
    assert names(session, "candidate") == []


def test_an_unknown_test_option_is_invalid_value(session):
    # ncclient refuses to send it, so the rpc is written out.
    rpc = (
        f'<edit-config xmlns="{NC}"><target><candidate/></target>'
        f"<test-option>maybe</test-option>{config(IMAGES)}</edit-config>"
    )
    with pytest.raises(RPCError) as e:
        session.dispatch(etree.fromstring(rpc))
    assert e.value.tag == "invalid-value"
    assert names(session, "candidate") == []
