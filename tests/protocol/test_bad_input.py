"""Bad input over SSH: each gets its precise answer, and the server keeps serving the others.

Every case opens a second session before the bad input is sent and asks it for the running
configuration afterwards, so a crash, a hang or a lost lock of the daemon shows up as well as
a wrong answer.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from lxml import etree

from protocol import connecting
from protocol.rawclient import BASE_10, BASE_11, NC
from protocol.xmlcheck import same_xml, the_error

pytestmark = pytest.mark.protocol

KA = "urn:k3s-netconf:yang:apps"
GET_CONFIG = "<get-config><source><running/></source></get-config>"
RPC = f'<rpc xmlns="{NC}" message-id="7">'
BILLION_LAUGHS = (
    '<!DOCTYPE rpc [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


def nested(depth: int) -> bytes:
    return (RPC + "<get>" + "<a>" * depth + "</a>" * depth + "</get></rpc>").encode()


def edit(body: str) -> bytes:
    return (
        f"{RPC}<edit-config><target><running/></target><config>{body}</config></edit-config></rpc>"
    ).encode()


# Chunked frames (base:1.1) that the server must answer with one rpc-error, the session alive:
# (what is tried, the message, error-type, error-tag, error-path)
ANSWERED = [
    ("invalid UTF-8 in element text", RPC.encode() + b"<get><x>\xc3\x28</x></get></rpc>",
     "rpc", "malformed-message", None),
    ("a lone UTF-8 continuation byte", RPC.encode() + b"<get/>\x80</rpc>", "rpc",
     "malformed-message", None),
    ("overlong UTF-8 for '<'", b"\xc0\xbc" + RPC.encode() + b"<get/></rpc>", "rpc",
     "malformed-message", None),
    ("billion laughs", f"{BILLION_LAUGHS}{RPC}<get><x>&lol9;</x></get></rpc>".encode(), "rpc",
     "malformed-message", None),
    ("external entity file:///etc/passwd",
     f'<!DOCTYPE rpc [<!ENTITY x SYSTEM "file:///etc/passwd">]>{RPC}<get><x>&x;</x></get></rpc>'
     .encode(), "rpc", "malformed-message", None),
    ("an undeclared entity", f"{RPC}<get><x>&x;</x></get></rpc>".encode(), "rpc",
     "malformed-message", None),
    ("10000 levels of nesting", nested(10000), "rpc", "malformed-message", None),
    ("an rpc in the wrong namespace", b'<rpc xmlns="urn:example:other" message-id="7"><get/></rpc>',
     "rpc", "malformed-message", None),
    ("an rpc in no namespace", b'<rpc message-id="7"><get/></rpc>', "rpc", "malformed-message",
     None),
    ("an operation in an unknown namespace", f'{RPC}<get xmlns="urn:example:other"/></rpc>'
     .encode(), "protocol", "unknown-namespace", None),
    ("configuration in an unknown namespace",
     edit('<apps xmlns="urn:example:other"><app><name>web</name></app></apps>'),
     "application", "unknown-namespace", "/apps"),
    # The base namespace is ietf-netconf's, a module the server knows, which has no such element.
    ("configuration in the base namespace", edit("<apps><app><name>web</name></app></apps>"),
     "application", "unknown-element", "/apps"),
    ("an invalid leaf value",
     edit(f'<apps xmlns="{KA}"><app><name>web</name><replicas>65</replicas></app></apps>'),
     "application", "invalid-value", "/ka:apps/ka:app[ka:name='web']/ka:replicas"),
    ("close-session with a parameter it lacks", f"{RPC}<close-session><now/></close-session></rpc>"
     .encode(), "protocol", "unknown-element", None),
    ("kill-session with a parameter it lacks",
     f"{RPC}<kill-session><session-id>1</session-id><force/></kill-session></rpc>".encode(),
     "protocol", "unknown-element", None),
    ("a leaf given twice",
     edit(f'<apps xmlns="{KA}"><app><name>web</name><replicas>1</replicas><replicas>2</replicas>'
          "</app></apps>"),
     "application", "bad-element", "/ka:apps/ka:app[ka:name='web']/ka:replicas"),
]  # fmt: skip

# Byte streams after a base:1.1 hello that must close the session they arrive on.
CLOSED = [
    ("framing garbage instead of a chunk header", b"GARBAGE\n"),
    ("a chunk header with letters", b"\n#12a\n<rpc/>\n##\n"),
    ("a chunk header with a leading zero", b"\n#07\n<rpc/>\n##\n"),
    ("end-of-chunks before any chunk", b"\n##\n"),
    ("a chunk longer than the limit of 256 KiB", b"\n#%d\n<rpc" % (300 * 1024)),
    ("the end-of-message marker after base:1.1", RPC.encode() + b"<get/></rpc>]]>]]>"),
]


@pytest.fixture
def other(netconf_daemon) -> Iterator:
    with connecting.hello(netconf_daemon) as client:
        yield client


def still_serves(other) -> None:
    reply = other.rpc(GET_CONFIG)
    assert reply.find(f"{{{NC}}}data") is not None, etree.tostring(reply)


@pytest.mark.parametrize(
    ("message", "error_type", "tag", "path"),
    [c[1:] for c in ANSWERED],
    ids=[c[0] for c in ANSWERED],
)
def test_bad_input_gets_its_rpc_error_and_both_sessions_go_on(
    netconf_daemon, other, message, error_type, tag, path
):
    with connecting.hello(netconf_daemon) as client:
        before = client.rpc(GET_CONFIG)
        client.send_chunked(message)
        data = client.read()
        after = client.rpc(GET_CONFIG)

    error = the_error(etree.fromstring(data))
    assert (error["type"], error["tag"], error["path"]) == (error_type, tag, path)
    assert error["message"]
    assert b"root:" not in data and b"lollol" not in data
    assert same_xml(after, before)
    still_serves(other)


@pytest.mark.parametrize("stream", [c[1] for c in CLOSED], ids=[c[0] for c in CLOSED])
def test_broken_framing_closes_that_session_and_the_others_go_on(netconf_daemon, other, stream):
    with connecting.hello(netconf_daemon) as client:
        client.send_raw(stream)
        assert client.closed_by_server(within=10)
    still_serves(other)


def test_a_chunk_cut_short_by_the_client_closing_its_side_ends_that_session(netconf_daemon, other):
    with connecting.hello(netconf_daemon) as client:
        client.send_raw(b"\n#100\n" + RPC.encode())
        client.channel.shutdown_write()
        assert client.closed_by_server(within=10)
    still_serves(other)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port the server would connect to if it fetched an external entity."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.mark.parametrize(
    "declaration",
    [
        '<!DOCTYPE rpc [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>',
        '<!DOCTYPE rpc [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>',
        '<!DOCTYPE rpc SYSTEM "http://127.0.0.1:{port}/netconf.dtd">',
    ],
    ids=["a general entity", "a parameter entity", "an external DTD"],
)
def test_an_external_entity_over_http_is_never_fetched(
    netconf_daemon, other, listener, declaration
):
    port = listener.getsockname()[1]
    body = "<get><x>&x;</x></get>" if "ENTITY x" in declaration else "<get/>"
    with connecting.hello(netconf_daemon) as client:
        client.send_chunked(declaration.format(port=port) + RPC + body + "</rpc>")
        error = the_error(client.read_reply())

    assert (error["type"], error["tag"]) == ("rpc", "malformed-message")
    # The reply comes after parsing, so a fetch would already be waiting to be accepted.
    with pytest.raises(BlockingIOError):
        listener.accept()
    still_serves(other)


# Messages a base:1.0 session cannot answer (it has no malformed-message), so it closes.
CLOSED_IN_BASE_10 = [
    ("invalid UTF-8", RPC.encode() + b"<get><x>\xc3\x28</x></get></rpc>"),
    ("billion laughs", f"{BILLION_LAUGHS}{RPC}<get><x>&lol9;</x></get></rpc>".encode()),
    ("10000 levels of nesting", nested(10000)),
    ("an rpc in the wrong namespace", b'<rpc xmlns="urn:example:other" message-id="7"/>'),
]


@pytest.mark.parametrize(
    "message", [c[1] for c in CLOSED_IN_BASE_10], ids=[c[0] for c in CLOSED_IN_BASE_10]
)
def test_bad_input_in_base_10_closes_that_session_and_the_others_go_on(
    netconf_daemon, other, message
):
    with connecting.raw(netconf_daemon) as client:
        client.hello([BASE_10])
        client.send_marked(message)
        assert client.closed_by_server(within=10)
    still_serves(other)


# Client hellos that cannot open a session.
BAD_HELLOS = [
    ("invalid UTF-8", f'<hello xmlns="{NC}"><capabilities><capability>'.encode() + b"\xff"),
    ("a document type declaration",
     f'<!DOCTYPE hello [<!ENTITY b "{BASE_11}">]><hello xmlns="{NC}"><capabilities>'
     "<capability>&b;</capability></capabilities></hello>".encode()),
    ("10000 levels of nesting", f'<hello xmlns="{NC}">'.encode() + b"<a>" * 10000),
    ("framing garbage", b"\x00\x01\x02 garbage"),
]  # fmt: skip


@pytest.mark.parametrize("hello", [c[1] for c in BAD_HELLOS], ids=[c[0] for c in BAD_HELLOS])
def test_a_bad_client_hello_closes_that_session_and_the_others_go_on(netconf_daemon, other, hello):
    with connecting.raw(netconf_daemon) as client:
        client.read_marked()
        client.send_marked(hello)
        assert client.closed_by_server(within=10)
    still_serves(other)
