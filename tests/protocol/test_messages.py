"""The message layer: rpc, message-id, the operation element, well-formed and safe XML."""

from __future__ import annotations

import pytest
from lxml import etree

from protocol import connecting
from protocol.rawclient import BASE_10, NC
from protocol.xmlcheck import same_xml, the_error

pytestmark = pytest.mark.protocol

GET_CONFIG = "<get-config><source><running/></source></get-config>"


def test_rpc_without_message_id_gets_missing_attribute(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        reply = client.rpc(GET_CONFIG, message_id=None)

    error = the_error(reply)
    assert (error["type"], error["tag"], error["severity"]) == ("rpc", "missing-attribute", "error")
    assert error["info"] == {"bad-attribute": "message-id", "bad-element": "rpc"}
    assert reply.get("message-id") is None


def test_every_rpc_attribute_comes_back_on_the_reply(netconf_daemon):
    attributes = 'xmlns:ex="urn:example:trace" ex:trace-id="t-77" ex:user="ü" note="plain"'
    with connecting.hello(netconf_daemon) as client:
        reply = client.rpc(GET_CONFIG, message_id="101", attributes=attributes)

    assert dict(reply.attrib) == {
        "message-id": "101",
        "{urn:example:trace}trace-id": "t-77",
        "{urn:example:trace}user": "ü",
        "note": "plain",
    }


def test_reply_is_an_rpc_reply_in_the_base_namespace(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        client.send(
            f'<nc:rpc xmlns:nc="{NC}" message-id="5">'
            "<nc:get-config><nc:source><nc:running/></nc:source></nc:get-config></nc:rpc>"
        )
        reply = client.read_reply()

    assert same_xml(reply, f'<rpc-reply xmlns="{NC}" message-id="5"><data/></rpc-reply>')


def test_operation_in_no_namespace_gets_unknown_element(netconf_daemon):
    # The rpc is in the base namespace through a prefix; get-config is in no namespace at all.
    with connecting.hello(netconf_daemon) as client:
        client.send(f'<nc:rpc xmlns:nc="{NC}" message-id="6">{GET_CONFIG}</nc:rpc>')
        reply = client.read_reply()

    error = the_error(reply)
    assert (error["type"], error["tag"]) == ("protocol", "unknown-element")
    assert error["info"] == {"bad-element": "get-config"}


def test_operation_in_an_unknown_namespace_gets_unknown_namespace(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        reply = client.rpc(
            '<get-config xmlns="urn:example:typo"><source><running/></source></get-config>'
        )

    error = the_error(reply)
    assert (error["type"], error["tag"]) == ("protocol", "unknown-namespace")
    assert error["info"] == {"bad-element": "get-config", "bad-namespace": "urn:example:typo"}


def test_unknown_operation_gets_operation_not_supported(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        reply = client.rpc("<frobnicate/>")

    error = the_error(reply)
    assert (error["type"], error["tag"]) == ("protocol", "operation-not-supported")


def test_rpc_with_two_operations_is_refused(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        reply = client.rpc(GET_CONFIG + "<get/>")

    error = the_error(reply)
    assert (error["type"], error["tag"]) == ("protocol", "unknown-element")
    assert error["info"] == {"bad-element": "get"}


def test_rpc_without_an_operation_gets_missing_element(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        reply = client.rpc("<!-- nothing -->")

    assert (the_error(reply)["type"], the_error(reply)["tag"]) == ("protocol", "missing-element")


def test_errors_carry_an_english_message(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        error = the_error(client.rpc("<frobnicate/>"))
    assert error["lang"] == "en" and "frobnicate" in error["message"]


@pytest.mark.parametrize(
    "message",
    [
        b"<rpc message-id='1' xmlns='urn:ietf:params:xml:ns:netconf:base:1.0'><get-config>",
        b"not xml at all",
        b"<rpc message-id='1' xmlns='urn:ietf:params:xml:ns:netconf:base:1.0'>&undefined;</rpc>",
        b"\xff\xfe<rpc/>",
    ],
)
def test_malformed_xml_gets_malformed_message_and_the_session_goes_on(netconf_daemon, message):
    with connecting.hello(netconf_daemon) as client:
        client.send_chunked(message)
        reply = client.read_reply()
        after = client.rpc(GET_CONFIG)

    error = the_error(reply)
    assert (error["type"], error["tag"]) == ("rpc", "malformed-message")
    assert after.find(f"{{{NC}}}data") is not None


def test_message_that_is_not_an_rpc_gets_malformed_message(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        client.send_chunked(f'<notification xmlns="{NC}"/>')
        error = the_error(client.read_reply())
    assert (error["type"], error["tag"]) == ("rpc", "malformed-message")


def test_malformed_xml_in_base_10_closes_the_session(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        client.hello([BASE_10])
        client.send_marked(b"<rpc message-id='1'")
        assert client.closed_by_server(within=5)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rpc [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
        (
            '<!DOCTYPE rpc [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
            '<!ENTITY secret "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        ),
        '<!DOCTYPE rpc SYSTEM "http://192.0.2.1/netconf.dtd">',
    ],
)
def test_doctype_is_refused_and_no_entity_is_expanded(netconf_daemon, doctype):
    message = (
        f'{doctype}<rpc xmlns="{NC}" message-id="9"><kill-session>'
        "<session-id>&secret;</session-id></kill-session></rpc>"
    ).replace("&secret;", "&secret;" if "ENTITY secret" in doctype else "1")
    with connecting.hello(netconf_daemon) as client:
        client.send_chunked(message)
        data = client.read()

    error = the_error(etree.fromstring(data))
    assert (error["type"], error["tag"]) == ("rpc", "malformed-message")
    assert b"root:" not in data and b"aaaa" not in data
