"""A value read from outside the daemon (a process's output) that get reports without waiting.

Listing containerd's images or the nftables table costs a process and tens of milliseconds.
A get must not pay that: it takes the last value read and, when that value is older than its
age limit, wakes a thread of the value's own to read it again for the next get. Nothing is
read while no get asks, so an idle daemon starts no processes.

Only a value that is not known (never read, or forgotten because the daemon itself changed
what it describes) is read on the caller's thread: the caller must see its own change. So is a
value older than ``MAX_STALE``: after a long time without a get, the last value read may
describe a device that has long changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds after which a value is read on the caller's thread instead of returned.
MAX_STALE = 60.0
# Seconds ``stop`` waits for the refreshing thread.
STOP_JOIN_SECONDS = 2.0


class Refreshed(Generic[T]):
    def __init__(self, name: str, read: Callable[[], T], max_age: float) -> None:
        self.name = name
        self._read = read
        self._max_age = max_age
        # Guards the value and its stamps; never held while reading.
        self._lock = threading.Lock()
        # One read at a time, so a forced read waits for one under way instead of racing it.
        self._reading = threading.Lock()
        self._value: T | None = None
        self._known = False
        self._read_at = float("-inf")
        # Raised by ``forget``: a read begun before it describes the past and is dropped.
        self._generation = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self) -> T:
        """The last value read; read now only when none is known."""
        with self._lock:
            known, value, age = self._known, self._value, time.monotonic() - self._read_at
        if not known or age > MAX_STALE:
            return self.read_now()

        if age > self._max_age:
            self._wake_refresher()
        return value  # type: ignore[return-value]

    def read_now(self) -> T:
        """Read the value on this thread, keep it and return it."""
        with self._reading:
            with self._lock:
                generation = self._generation
            value = self._read()
            self._keep(value, generation)
            return value

    def put(self, value: T) -> None:
        """Keep a value the caller read itself (a commit lists images anyway)."""
        with self._lock:
            self._value, self._known, self._read_at = value, True, time.monotonic()

    def renew(self) -> None:
        """The daemon changed what the value describes: read it again now, on this thread."""
        self.forget()

        # The change is made already; a failed read must not fail it. The next get reads.
        try:
            self.read_now()
        except Exception:
            logger.exception("Reading the %s again failed; the next get reads it.", self.name)

    def refresh_behind(self) -> None:
        """Have the value read on its own thread, so that a first get finds it known."""
        self._wake_refresher()

    def forget(self) -> None:
        """The daemon changed what the value describes: the next get reads it again."""
        with self._lock:
            self._generation += 1
            self._known = False

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(STOP_JOIN_SECONDS)

    def _keep(self, value: T, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._value, self._known, self._read_at = value, True, time.monotonic()

    def _wake_refresher(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopping.is_set():
                # Started on first need: a daemon that is never asked runs no such thread.
                self._thread = threading.Thread(
                    target=self._run, name=f"refresh {self.name}", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                return

            # Whatever goes wrong, the thread must live on: the next get wakes it again.
            try:
                self.read_now()
            except Exception:
                logger.exception("Refreshing the %s failed; the last one is kept.", self.name)
