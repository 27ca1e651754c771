"""Framing after the hellos (RFC 6242 4.2): the cases of P2 and P3, over SSH."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from protocol import connecting
from protocol.rawclient import BASE_10, NC
from protocol.xmlcheck import the_error

pytestmark = pytest.mark.protocol

GET_CONFIG = (
    f'<rpc xmlns="{NC}" message-id="1"><get-config><source><running/></source></get-config></rpc>'
)


def test_end_marker_framed_rpc_after_base_11_closes_the_session_unanswered(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        client.send_marked(GET_CONFIG)
        assert client.closed_by_server(within=5)
    assert b"rpc-reply" not in client.buffer


def test_chunk_header_split_across_two_reads_is_understood(netconf_daemon):
    body = GET_CONFIG.encode()
    with connecting.hello(netconf_daemon) as client:
        client.send_raw(b"\n#%d" % len(body))
        # A pause, so that the server reads the header in two parts.
        time.sleep(0.2)
        client.send_raw(b"\n" + body + b"\n#")
        time.sleep(0.2)
        client.send_raw(b"#\n")
        reply = client.read_reply()

    assert reply.find(f"{{{NC}}}data") is not None


def test_message_split_over_many_chunks_is_understood(netconf_daemon):
    # Three-byte chunks cut through the two bytes of 'ü' somewhere.
    rpc = (
        f'<rpc xmlns="{NC}" message-id="ü-1">'
        "<kill-session><session-id>ü</session-id></kill-session></rpc>"
    )
    with connecting.hello(netconf_daemon) as client:
        client.send_chunked(rpc, chunk_size=3)
        reply = client.read_reply()

    assert reply.get("message-id") == "ü-1"
    assert the_error(reply)["tag"] == "invalid-value"


@pytest.mark.parametrize(
    "header",
    [
        b"\n#0\n",
        b"\n#012\n",
        b"\n#4294967296\n",
        b"\n#12345678901\n",
        b"\n#-5\n",
        b"\n#x\n",
        b"\n# 5\n",
        b"\n##\n",  # end-of-chunks with no chunk before it
        b"#5\n",
        b"\n\n",
    ],
)
def test_invalid_chunk_header_closes_the_session(netconf_daemon, header):
    with connecting.hello(netconf_daemon) as client:
        client.send_raw(header + b"<rpc/>\n##\n")
        assert client.closed_by_server(within=5)


def test_chunk_sizes_count_bytes_so_non_ascii_text_is_answered(netconf_daemon):
    rpc = (
        f'<rpc xmlns="{NC}" message-id="2"><get-config><source><running/></source>'
        '<filter type="subtree"><x xmlns="urn:example:e">ü</x></filter></get-config></rpc>'
    )
    with connecting.hello(netconf_daemon) as client:
        client.send_chunked(rpc)
        reply = client.read_reply()
        # The session is still there.
        client.send_chunked(GET_CONFIG)
        assert client.read_reply().find(f"{{{NC}}}data") is not None

    assert reply.tag == f"{{{NC}}}rpc-reply" and reply.get("message-id") == "2"


def test_reply_with_non_ascii_text_announces_its_size_in_bytes(netconf_daemon):
    rpc = (
        f'<rpc xmlns="{NC}" message-id="3">'
        "<kill-session><session-id>äöü</session-id></kill-session></rpc>"
    )
    with connecting.hello(netconf_daemon) as client:
        client.send_chunked(rpc)
        # The client's reader is strict: a size in characters would break it here.
        reply = client.read_reply()

    assert "äöü" in the_error(reply)["message"]


def test_oversized_message_closes_only_that_session(netconf_daemon):
    # The test daemon allows 256 KiB per message.
    with connecting.hello(netconf_daemon) as big, connecting.hello(netconf_daemon) as other:
        big.send_raw(b"\n#%d\n" % (300 * 1024) + b"<rpc>")
        assert big.closed_by_server(within=5)

        other.send_chunked(GET_CONFIG)
        assert other.read_reply().find(f"{{{NC}}}data") is not None


def test_oversized_message_without_end_marker_closes_the_session(netconf_daemon):
    with connecting.raw(netconf_daemon) as client, connecting.hello(netconf_daemon) as other:
        client.hello([BASE_10])
        padding = b" " * (64 * 1024)
        try:
            client.send_raw(b"<rpc>")
            for _ in range(5):
                client.send_raw(padding)
        except OSError:
            pass  # the server may close while the client still writes
        assert client.closed_by_server(within=5)

        other.send_chunked(GET_CONFIG)
        assert other.read_reply().find(f"{{{NC}}}data") is not None


def test_many_rpcs_in_one_write_are_all_answered_in_order(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        frames = b"".join(
            b"\n#%d\n%b\n##\n" % (len(m), m)
            for m in (
                GET_CONFIG.replace('message-id="1"', f'message-id="{i}"').encode() for i in range(5)
            )
        )
        client.send_raw(frames)
        ids = [client.read_reply().get("message-id") for _ in range(5)]
    assert ids == ["0", "1", "2", "3", "4"]


def test_reply_survives_xml_parsing_by_the_client(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        client.send_chunked(GET_CONFIG)
        data = client.read_chunked()
    assert etree.fromstring(data).tag == f"{{{NC}}}rpc-reply"
