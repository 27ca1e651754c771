"""Giving the system back the memory that the heap holds free, after the work that freed it.

glibc's malloc keeps what a thread frees for its next allocations and returns to the system
only the top of the heap. One edit or get of a thousand apps copies, validates and serializes
trees of several megabytes each; once they are freed the daemon would otherwise stay some
8 MB larger than what it holds, until the next large request reuses the space.
``malloc_trim`` returns the free pages of every arena. It takes a few milliseconds and holds
malloc's locks meanwhile, so a thread of its own runs it, at most once a second, after
sessions asked for it; an idle daemon never trims. Without glibc (musl) nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Seconds between two trims at the least, however many requests ask.
INTERVAL = 1.0


class Trimmer:
    def __init__(self, interval: float = INTERVAL) -> None:
        self._trim = _malloc_trim()
        self._interval = interval
        self._asked = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._trim is None:
            return
        self._thread = threading.Thread(target=self._run, name="malloc trim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._asked.set()
        if self._thread is not None:
            self._thread.join(self._interval + 1.0)

    def ask(self) -> None:
        """Trim soon: a request was answered, and what it built is free again."""
        self._asked.set()

    def _run(self) -> None:
        assert self._trim is not None
        while True:
            self._asked.wait()
            if self._stopping.is_set():
                return
            self._asked.clear()
            self._trim(0)
            # Requests asking meanwhile are served by the next trim, after the pause.
            if self._stopping.wait(self._interval):
                return


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        logger.debug("The C library has no malloc_trim; freed memory stays with the heap.")
        return None
    return trim
