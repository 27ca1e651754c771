"""A lean NETCONF-over-SSH client that measures the server, not itself.

Every message leaves in one write on a socket with TCP_NODELAY, and a base:1.1 message is one
chunk whose header, body and end marker are written together: a client that writes them apart
measures its own Nagle and delayed-ACK stalls. Replies are read in large pieces and only the
framing is parsed; the XML is looked at just enough to tell an <rpc-error> from an <ok/>.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

BASE_1_1 = "urn:ietf:params:netconf:base:1.1"
HELLO = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
    "<capability>urn:ietf:params:netconf:base:1.0</capability>"
    f"<capability>{BASE_1_1}</capability>"
    "</capabilities></hello>]]>]]>"
).encode()
END_OF_MESSAGE = b"]]>]]>"
CHUNK_HEADER = re.compile(rb"\n#(\d+)\n")
READ_SIZE = 256 * 1024


class NetconfFailure(Exception):
    """The server answered with an rpc-error, or the session broke."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    user: str
    key: Path
    timeout: float = 120.0


class Session:
    """One NETCONF session; ``rpc`` sends an operation and returns the raw reply."""

    def __init__(self, target: Target) -> None:
        self._sock = socket.create_connection((target.host, target.port), timeout=target.timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._transport = paramiko.Transport(self._sock)
        self._transport.start_client(timeout=target.timeout)
        key = paramiko.Ed25519Key.from_private_key_file(str(target.key))
        self._transport.auth_publickey(target.user, key)

        self._channel = self._transport.open_session(timeout=target.timeout)
        self._channel.settimeout(target.timeout)
        self._channel.invoke_subsystem("netconf")
        self._buffer = b""
        self._message_id = 0

        # Both hellos use the end-of-message marker; chunks follow once both sides said 1.1.
        self._channel.sendall(HELLO)
        server_hello = self._read_until_marker()
        if BASE_1_1.encode() not in server_hello:
            raise NetconfFailure("the server does not offer base:1.1")

    def rpc(self, operation: str) -> bytes:
        self._message_id += 1
        body = (
            f'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" '
            f'message-id="{self._message_id}">{operation}</rpc>'
        ).encode()
        self._channel.sendall(b"\n#%d\n%s\n##\n" % (len(body), body))

        reply = self._read_chunked()
        if b"rpc-error>" in reply:
            raise NetconfFailure(reply.decode(errors="replace")[:2000])
        return reply

    def close(self) -> None:
        try:
            self.rpc("<close-session/>")
        except (NetconfFailure, OSError, EOFError):
            pass  # The session goes either way; the transport closes below.
        self._transport.close()

    def _receive(self) -> None:
        data = self._channel.recv(READ_SIZE)
        if not data:
            raise NetconfFailure("the server closed the session")
        self._buffer += data

    def _read_until_marker(self) -> bytes:
        for _ in range(100_000):
            end = self._buffer.find(END_OF_MESSAGE)
            if end >= 0:
                message, self._buffer = self._buffer[:end], self._buffer[end + 6 :]
                return message
            self._receive()
        raise NetconfFailure("no end-of-message marker")

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        position = 0
        # Bounded: a reply larger than READ_SIZE times this count is not expected here.
        for _ in range(1_000_000):
            if self._buffer.startswith(b"\n##\n", position):
                self._buffer = self._buffer[position + 4 :]
                return b"".join(parts)
            header = CHUNK_HEADER.match(self._buffer, position)
            if header and len(self._buffer) >= header.end() + int(header[1]):
                end = header.end() + int(header[1])
                parts.append(self._buffer[header.end() : end])
                position = end
                continue
            self._receive()
        raise NetconfFailure("the reply never ended")


def timed_session(target: Target) -> tuple[Session, float]:
    """A new session and the seconds from connecting to the server's hello."""
    start = time.perf_counter()
    session = Session(target)
    return session, time.perf_counter() - start
