"""The notifications waiting for one session's channel, and the thread that writes them.

Events arrive on threads that serve everyone (the watch cache, a commit), which must never
wait for one client's SSH window; they only put the message here. A thread of the session's
own writes them through the same one-write-per-message path as replies, so a notification
never lands inside a reply. That thread never starts while an rpc is being answered, so the
reply to ``<create-subscription>`` precedes the first notification (RFC 5277 2.1.1); once it
runs, notifications and replies interleave, message by message.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from lxml import etree

logger = logging.getLogger(__name__)

# Notifications held for a client that does not read; beyond this the newest are dropped.
LIMIT = 1000

# How often the writer looks whether the session ended while nothing was waiting, in seconds.
POLL_SECONDS = 1.0


class Outbox:
    def __init__(self, send: Callable[[etree._Element], None], name: str, log: Any) -> None:
        self._send = send
        self._name = name
        self._log = log
        self._queue: queue.Queue[etree._Element] = queue.Queue(maxsize=LIMIT)
        self._wanted = False
        self._answering = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._dropped = 0

    def put(self, message: etree._Element) -> None:
        if self._stopping.is_set():
            return
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1:
                self._log.warning(
                    "The client reads no notifications; dropping them beyond %d waiting.", LIMIT
                )
            return

        with self._guard:
            self._wanted = True
        self._start_writer()

    def hold(self) -> None:
        """An rpc is being answered: the writer may not start before its reply is written."""
        with self._guard:
            self._answering = True

    def release(self) -> None:
        """The reply has been written."""
        with self._guard:
            self._answering = False
        self._start_writer()

    def _start_writer(self) -> None:
        with self._guard:
            idle = not self._wanted or self._answering or self._stopping.is_set()
            if idle or self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                message = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            try:
                self._send(message)
            except Exception as e:  # noqa: BLE001 - a channel that failed ends the writer only
                if not self._stopping.is_set():
                    self._log.info("Sending a notification failed: %s.", str(e) or type(e))
                return
