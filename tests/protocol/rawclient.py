"""A lean NETCONF client on a raw SSH channel, for tests that need control of every byte.

It writes each message in one send (as a well-behaved client does), reads replies with a
strict RFC 6242 parser, and bounds every wait in time.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Self

import paramiko
from lxml import etree

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"
END_OF_MESSAGE = b"]]>]]>"
CHUNK_HEADER = re.compile(rb"\n#([1-9][0-9]{0,9})\n")


class ServerClosed(Exception):
    """The server closed the channel."""


class RawClient:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        *,
        password: str | None = None,
        key: paramiko.PKey | None = None,
        timeout: float = 10.0,
        subsystem: str | None = "netconf",
    ) -> None:
        self.timeout = timeout
        self.chunked = False
        self.buffer = bytearray()

        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = paramiko.Transport(sock)
        self.transport.start_client(timeout=timeout)
        if key is not None:
            self.transport.auth_publickey(username, key)
        else:
            self.transport.auth_password(username, password or "")

        self.channel = self.transport.open_session(timeout=timeout)
        self.channel.settimeout(timeout)
        if subsystem is not None:
            self.channel.invoke_subsystem(subsystem)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The hello exchange

    def hello(self, capabilities: Iterable[str] = (BASE_10, BASE_11)) -> etree._Element:
        """Read the server's hello, send ours; chunked framing follows if both say base:1.1."""
        server_hello = etree.fromstring(self.read_marked())
        caps = "".join(f"<capability>{c}</capability>" for c in capabilities)
        self.send_marked(f'<hello xmlns="{NC}"><capabilities>{caps}</capabilities></hello>')

        offered = {c.text for c in server_hello.iter(f"{{{NC}}}capability")}
        self.chunked = BASE_11 in offered and BASE_11 in capabilities
        return server_hello

    # Writing: one send per message

    def send_raw(self, data: bytes) -> None:
        self.channel.sendall(data)

    def send_marked(self, message: str | bytes) -> None:
        self.send_raw(_bytes(message) + END_OF_MESSAGE)

    def send_chunked(self, message: str | bytes, chunk_size: int | None = None) -> None:
        data = _bytes(message)
        size = chunk_size or len(data)
        pieces = [data[i : i + size] for i in range(0, len(data), size)]
        self.send_raw(b"".join(b"\n#%d\n%b" % (len(p), p) for p in pieces) + b"\n##\n")

    def send(self, message: str | bytes) -> None:
        if self.chunked:
            self.send_chunked(message)
        else:
            self.send_marked(message)

    def rpc(self, body: str, message_id: str | None = "1", attributes: str = "") -> etree._Element:
        """Send ``body`` inside an rpc and return the parsed reply."""
        mid = f' message-id="{message_id}"' if message_id is not None else ""
        self.send(f'<rpc xmlns="{NC}"{mid} {attributes}>{body}</rpc>')
        return self.read_reply()

    # Reading, strictly

    def read_reply(self) -> etree._Element:
        return etree.fromstring(self.read())

    def read(self) -> bytes:
        return self.read_chunked() if self.chunked else self.read_marked()

    def read_marked(self) -> bytes:
        deadline = time.monotonic() + self.timeout
        while (end := self.buffer.find(END_OF_MESSAGE)) == -1:
            self._fill(deadline)
        message = bytes(self.buffer[:end])
        del self.buffer[: end + len(END_OF_MESSAGE)]
        return message

    def read_chunked(self) -> bytes:
        deadline = time.monotonic() + self.timeout
        chunks = []
        while True:
            while (newline := self.buffer.find(b"\n", 1)) == -1:
                self._fill(deadline)
            header = bytes(self.buffer[: newline + 1])
            del self.buffer[: newline + 1]
            if header == b"\n##\n":
                return b"".join(chunks)

            match = CHUNK_HEADER.fullmatch(header)
            assert match, f"the server sent an invalid chunk header {header!r}"
            size = int(match[1])
            while len(self.buffer) < size:
                self._fill(deadline)
            chunks.append(bytes(self.buffer[:size]))
            del self.buffer[:size]

    def closed_by_server(self, within: float) -> bool:
        """Whether the server closes the channel within ``within`` seconds (data is dropped)."""
        deadline = time.monotonic() + within
        try:
            while True:
                self._fill(deadline)
        except ServerClosed:
            return True
        except TimeoutError:
            return False

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the server did not answer in time")
        self.channel.settimeout(left)
        try:
            data = self.channel.recv(65536)
        except OSError as e:
            if isinstance(e, TimeoutError):
                raise
            raise ServerClosed(str(e)) from e
        if not data:
            raise ServerClosed("the server closed the channel")
        self.buffer += data


def _bytes(message: str | bytes) -> bytes:
    return message.encode("utf-8") if isinstance(message, str) else message


def load_key(path: Path) -> paramiko.PKey:
    return paramiko.PKey.from_path(path)
