"""The notifications waiting for one session's channel, and the thread that writes them.

Events arrive on threads that serve everyone (the watch cache, a commit), which must never
wait for one client's SSH window; they only put the message here. A thread of the session's
own writes them through the same one-write-per-message path as replies, so a notification
never lands inside a reply; between replies, notifications go out as they come (interleave).
While a ``<create-subscription>`` is answered the writer waits, so that its reply precedes
the first notification of the subscription, replayed or live (RFC 5277 2.1.1).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from lxml import etree

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
        self._changed = threading.Condition()
        self._holding = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._dropped = 0

    def put(self, message: etree._Element) -> None:
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1:
                self._log.warning(
                    "The client reads no notifications; dropping them beyond %d waiting.", LIMIT
                )
            return

        with self._changed:
            if self._thread is not None or self._stopping:
                return
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def hold(self) -> None:
        """Send nothing until ``release``: a reply that must come first is being made."""
        with self._changed:
            self._holding = True

    def release(self) -> None:
        with self._changed:
            self._holding = False
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def _run(self) -> None:
        while not self._stopping:
            try:
                message = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if not self._wait_until_released():
                return
            try:
                self._send(message)
            except Exception as e:  # noqa: BLE001 - a channel that failed ends the writer only
                if not self._stopping:
                    self._log.info("Sending a notification failed: %s.", str(e) or type(e))
                return

    def _wait_until_released(self) -> bool:
        """Wait while held; False when the session ends meanwhile."""
        with self._changed:
            while self._holding and not self._stopping:
                self._changed.wait(POLL_SECONDS)
            return not self._stopping
