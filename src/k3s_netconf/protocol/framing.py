"""Framing of NETCONF messages on an SSH channel (RFC 6242).

Two framings exist: the end-of-message marker of base:1.0 and the chunked framing of base:1.1.
Both hellos use the marker; chunked framing starts once both peers have advertised base:1.1.
A peer that breaks the framing cannot be brought back in step, so every framing fault ends the
session: this module raises ``FramingError`` and the session closes.

The ``netconf`` package's transport is extended here because it sends each message in many
small writes (each one a chance for Nagle's algorithm and delayed ACKs to stall the reply),
parses chunk headers leniently, spins when the peer closes during end-of-message framing, and
has no bound on message size.
"""

from __future__ import annotations

import re
import time
from typing import Protocol

from netconf import base
from netconf.error import ChannelClosed

END_OF_MESSAGE = b"]]>]]>"
END_OF_CHUNKS = b"\n##\n"

# RFC 6242 4.2: a chunk size has 1 to 10 digits, no leading zero, and is at most 4294967295.
MAX_CHUNK_SIZE = 4294967295
CHUNK_HEADER = re.compile(rb"\n#([1-9][0-9]{0,9})\n")
# What may stand in the buffer while a chunk header is still incomplete.
PARTIAL_HEADER = re.compile(rb"(\n(#(#|[1-9][0-9]{0,9})?)?)?")
# In end-of-message framing, a message that opens with '#' is a chunk header: the peers
# disagree about the framing, and the end marker the reader waits for will never come.
CHUNK_INSTEAD_OF_XML = re.compile(rb"[ \t\r\n]*#")

READ_SIZE = 64 * 1024


class FramingError(Exception):
    """The peer broke the framing; the session cannot go on."""


class MessageTooLarge(FramingError):
    """A message exceeds the configured size; reading it would cost unbounded memory."""


class Stream(Protocol):
    """What the transport needs of a channel; a paramiko Channel or a socket."""

    def recv(self, size: int) -> bytes: ...

    def sendall(self, data: bytes) -> None: ...

    def settimeout(self, timeout: float | None) -> None: ...

    def close(self) -> None: ...


class FramingTransport(base.NetconfFramingTransport):  # type: ignore[misc]
    """Reads and writes whole NETCONF messages as bytes.

    ``timeout`` bounds each wait for data (the idle timeout; None waits forever) and
    ``deadline`` (a ``time.monotonic`` value) bounds all reading until it is cleared, which
    is how the hello exchange gets a time limit. Waiting past either raises TimeoutError.
    """

    def __init__(self, stream: Stream, max_message_bytes: int) -> None:
        super().__init__(stream, READ_SIZE, False)
        self.rbuffer = bytearray()
        self.max_message_bytes = max_message_bytes
        self.timeout: float | None = None
        self.deadline: float | None = None

    def send_pdu(self, msg: bytes | str, new_framing: bool) -> None:
        data = msg.encode("utf-8") if isinstance(msg, str) else msg
        if new_framing:
            # The size counts octets, not characters.
            frame = b"\n#%d\n%b%b" % (len(data), data, END_OF_CHUNKS)
        else:
            frame = data + END_OF_MESSAGE

        # One write per message: header, body and trailer leave together.
        self._stream().sendall(frame)

    def receive_pdu(self, new_framing: bool) -> bytes:
        if new_framing:
            return self._receive_chunked()
        return self._receive_marked()

    # End-of-message framing

    def _receive_marked(self) -> bytes:
        searched = 0
        while True:
            if CHUNK_INSTEAD_OF_XML.match(self.rbuffer):
                raise FramingError("a chunk header arrived where end-of-message framing is in use")

            end = self.rbuffer.find(END_OF_MESSAGE, searched)
            if end != -1:
                break

            if len(self.rbuffer) >= self.max_message_bytes + len(END_OF_MESSAGE):
                raise self._too_large()

            # The marker may straddle two reads.
            searched = max(0, len(self.rbuffer) - len(END_OF_MESSAGE) + 1)
            self._read()

        if end > self.max_message_bytes:
            raise self._too_large()

        message = bytes(self.rbuffer[:end])
        del self.rbuffer[: end + len(END_OF_MESSAGE)]
        return message

    # Chunked framing

    def _receive_chunked(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while (chunk_size := self._read_chunk_header()) is not None:
            size += chunk_size
            if size > self.max_message_bytes:
                raise self._too_large()
            chunks.append(self._read_exactly(chunk_size))

        if not chunks:
            raise FramingError("end-of-chunks arrived before any chunk")
        return b"".join(chunks)

    def _read_chunk_header(self) -> int | None:
        """The size the next chunk header announces, or None for end-of-chunks."""
        # The header runs from its leading newline to the next one; check what has come so
        # far at every read, so that garbage is refused at once instead of waited upon.
        while (newline := self.rbuffer.find(b"\n", 1)) == -1:
            if not PARTIAL_HEADER.fullmatch(self.rbuffer):
                raise FramingError(f"invalid chunk header {bytes(self.rbuffer[:16])!r}")
            self._read()

        header = bytes(self.rbuffer[: newline + 1])
        del self.rbuffer[: newline + 1]
        if header == END_OF_CHUNKS:
            return None

        match = CHUNK_HEADER.fullmatch(header)
        if match is None or int(match[1]) > MAX_CHUNK_SIZE:
            raise FramingError(f"invalid chunk header {header[:16]!r}")
        return int(match[1])

    def _read_exactly(self, size: int) -> bytes:
        while len(self.rbuffer) < size:
            self._read()
        chunk = bytes(self.rbuffer[:size])
        del self.rbuffer[:size]
        return chunk

    # Reading from the channel

    def _read(self) -> None:
        stream = self._stream()
        stream.settimeout(self._wait_limit())
        data = stream.recv(READ_SIZE)
        if not data:
            raise ChannelClosed("the peer closed the channel")
        self.rbuffer += data

    def _wait_limit(self) -> float | None:
        if self.deadline is None:
            return self.timeout

        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the time allowed for reading ran out")
        return left if self.timeout is None else min(left, self.timeout)

    def _stream(self) -> Stream:
        stream = self.stream
        if stream is None:
            raise ChannelClosed("the channel is closed")
        return stream  # type: ignore[no-any-return]

    def _too_large(self) -> MessageTooLarge:
        return MessageTooLarge(f"a message is larger than {self.max_message_bytes} bytes")
