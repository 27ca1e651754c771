"""The framing reader on its own, over a real socket pair: limits no SSH test can reach."""

from __future__ import annotations

import socket

import pytest
from netconf.error import ChannelClosed

from k3s_netconf.protocol.framing import FramingError, FramingTransport, MessageTooLarge

pytestmark = pytest.mark.protocol


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def reader(sock: socket.socket, limit: int = 2**40) -> FramingTransport:
    transport = FramingTransport(sock, limit)
    transport.timeout = 5
    return transport


@pytest.mark.parametrize("size", [b"1000000000", b"4294967295"])
def test_ten_digit_chunk_size_is_legal(pair, size):
    server, client = pair
    client.sendall(b"\n#" + size + b"\n<rpc")
    client.shutdown(socket.SHUT_WR)

    # The header is accepted; the reader then waits for the chunk, and finds the peer gone.
    with pytest.raises(ChannelClosed):
        reader(server).receive_pdu(True)


@pytest.mark.parametrize("header", [b"\n#4294967296\n", b"\n#9999999999\n", b"\n#0\n", b"\n#01\n"])
def test_chunk_size_beyond_the_limits_is_a_framing_error(pair, header):
    server, client = pair
    client.sendall(header)
    with pytest.raises(FramingError):
        reader(server).receive_pdu(True)


def test_bad_header_is_refused_before_its_newline_arrives(pair):
    server, client = pair
    # No newline will come; the reader must not wait for one.
    client.sendall(b"\n#12a")
    with pytest.raises(FramingError):
        reader(server).receive_pdu(True)


def test_chunk_header_in_end_of_message_framing_is_refused_at_once(pair):
    server, client = pair
    client.sendall(b"\n#120\n<hello")
    with pytest.raises(FramingError):
        reader(server).receive_pdu(False)


def test_message_over_the_limit_is_refused_before_it_is_read(pair):
    server, client = pair
    client.sendall(b"\n#2000\n")
    with pytest.raises(MessageTooLarge):
        reader(server, limit=1000).receive_pdu(True)


def test_chunks_adding_up_over_the_limit_are_refused(pair):
    server, client = pair
    client.sendall(b"\n#600\n" + b"x" * 600 + b"\n#600\n")
    with pytest.raises(MessageTooLarge):
        reader(server, limit=1000).receive_pdu(True)


def test_peer_closing_mid_message_ends_the_read(pair):
    server, client = pair
    client.sendall(b"<rpc>")
    client.shutdown(socket.SHUT_WR)
    with pytest.raises(ChannelClosed):
        reader(server).receive_pdu(False)


def test_two_messages_in_one_read_come_out_one_by_one(pair):
    server, client = pair
    client.sendall(b"\n#3\nabc\n##\n\n#2\nde\n#1\nf\n##\n")
    transport = reader(server)
    assert transport.receive_pdu(True) == b"abc"
    assert transport.receive_pdu(True) == b"def"


def test_sending_writes_the_size_in_bytes(pair):
    server, client = pair
    reader(server).send_pdu("ü".encode(), True)
    assert client.recv(100) == b"\n#2\n\xc3\xbc\n##\n"


def test_idle_timeout_ends_the_wait(pair):
    server, _ = pair
    transport = reader(server)
    transport.timeout = 0.2
    with pytest.raises(TimeoutError):
        transport.receive_pdu(True)
