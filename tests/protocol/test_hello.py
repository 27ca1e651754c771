"""The hello exchange (RFC 6241 8.1, RFC 6242 4.1)."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from protocol import connecting
from protocol.rawclient import BASE_10, BASE_11, NC
from protocol.xmlcheck import is_ok

pytestmark = pytest.mark.protocol

GET_CONFIG = "<get-config><source><running/></source></get-config>"


def test_server_hello_comes_first_framed_with_the_end_marker(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        # Nothing has been sent yet: the server must not wait for the client's hello.
        data = client.read_marked()

    assert not data.lstrip().startswith(b"#")
    hello = etree.fromstring(data)
    assert hello.tag == f"{{{NC}}}hello"
    capabilities = [c.text for c in hello.iter(f"{{{NC}}}capability")]
    assert BASE_10 in capabilities and BASE_11 in capabilities
    assert int(hello.findtext(f"{{{NC}}}session-id")) > 0


def test_sessions_get_different_session_ids(netconf_daemon):
    with connecting.raw(netconf_daemon) as first, connecting.raw(netconf_daemon) as second:
        ids = {client.hello().findtext(f"{{{NC}}}session-id") for client in (first, second)}
    assert len(ids) == 2


def test_chunked_framing_starts_after_both_hellos_with_base_11(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        client.hello([BASE_10, BASE_11])
        assert client.chunked

        client.send_chunked(f'<rpc xmlns="{NC}" message-id="1">{GET_CONFIG}</rpc>')
        reply = etree.fromstring(client.read_chunked())

    assert reply.tag == f"{{{NC}}}rpc-reply"
    assert reply.find(f"{{{NC}}}data") is not None


def test_client_speaking_only_base_10_keeps_the_end_marker(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        client.hello([BASE_10])
        assert not client.chunked

        client.send_marked(f'<rpc xmlns="{NC}" message-id="1"><close-session/></rpc>')
        data = client.read_marked()

    assert not data.lstrip().startswith(b"#")
    assert is_ok(etree.fromstring(data))


def test_chunk_framed_client_hello_closes_the_session_at_once(netconf_daemon):
    hello = (
        f'<hello xmlns="{NC}"><capabilities><capability>{BASE_11}</capability>'
        "</capabilities></hello>"
    )
    with connecting.raw(netconf_daemon) as client:
        client.read_marked()
        started = time.monotonic()
        client.send_chunked(hello)

        # Well before the daemon's hello timeout of 10 s.
        assert client.closed_by_server(within=5)
    assert time.monotonic() - started < 5


def test_silent_client_is_closed_after_the_hello_timeout(start_daemon):
    daemon = start_daemon(server={"hello_timeout": 1.5})
    with connecting.raw(daemon) as client:
        client.read_marked()
        assert client.closed_by_server(within=6)


def test_client_hello_without_a_base_capability_closes_the_session(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        client.hello(["urn:ietf:params:netconf:capability:candidate:1.0"])
        assert client.closed_by_server(within=5)


def test_client_hello_with_a_session_id_closes_the_session(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        client.read_marked()
        client.send_marked(
            f'<hello xmlns="{NC}"><capabilities><capability>{BASE_11}</capability>'
            "</capabilities><session-id>7</session-id></hello>"
        )
        assert client.closed_by_server(within=5)


def test_first_message_that_is_not_a_hello_closes_the_session(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        client.read_marked()
        client.send_marked(f'<rpc xmlns="{NC}" message-id="1">{GET_CONFIG}</rpc>')
        assert client.closed_by_server(within=5)
