"""The daemon's log: plain text for people, JSON lines for log collectors.

Every module logs through ``logging.getLogger(__name__)``. Code that works for one NETCONF
session or one SSH peer wraps its logger in an adapter, so each line says whom it is about
(``[session 3 admin]``, ``[peer 192.0.2.7:50122]``) without every message repeating it. In JSON
the same context becomes fields of its own.

Protocol chatter (every message in and out) is logged at DEBUG; sessions opening and closing
at INFO; refused logins and broken framing at WARNING.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from k3s_netconf.settings import LogSettings

FORMATS = ("text", "json")

# Fields an adapter may attach to a record, in the order the text format shows them.
CONTEXT_FIELDS = ("session_id", "user", "peer")

# The SSH library logs every connection, and every client that drops off with a traceback at
# ERROR; our own lines say the same in fewer words, so it is only heard when debugging. The
# netconf package logs each connection's end at INFO; its warnings and errors still count.
SSH_LIBRARY = "paramiko"
NETCONF_LIBRARIES = ("netconf", "sshutil")


class ContextLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger that adds fixed context fields to every record it makes."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def session_log(logger: logging.Logger, session_id: int, user: str) -> ContextLog:
    return ContextLog(logger, {"session_id": session_id, "user": user})


# The NETCONF session whose rpc the current thread carries out, so that what the commit does
# far below the protocol layer (a Deployment applied, an image imported, the NAT table
# replaced) is logged with the session that asked for it.
SESSION: contextvars.ContextVar[int | None] = contextvars.ContextVar("session", default=None)


@contextlib.contextmanager
def acting_for(session_id: int) -> Iterator[None]:
    token = SESSION.set(session_id)
    try:
        yield
    finally:
        SESSION.reset(token)


class SessionFilter(logging.Filter):
    """Adds the session being served to records that do not name one."""

    def filter(self, record: logging.LogRecord) -> bool:
        session_id = SESSION.get()
        if session_id is not None and not hasattr(record, "session_id"):
            record.session_id = session_id
        return True


def peer_log(logger: logging.Logger, peer: str) -> ContextLog:
    return ContextLog(logger, {"peer": peer})


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context_text(record)
        if not context:
            return line

        # The context goes right before the message, after the logger's name.
        head, _, message = line.partition(": ")
        return f"{head}: {context} {message}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_context_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(settings: LogSettings) -> None:
    """Send the log to stderr in the configured format; raises ValueError on a bad setting."""
    level = _level(settings.level)
    if settings.format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {settings.format!r}")

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    handler.addFilter(SessionFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

    debugging = level <= logging.DEBUG
    logging.getLogger(SSH_LIBRARY).setLevel(logging.DEBUG if debugging else logging.CRITICAL)
    for name in NETCONF_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if debugging else logging.WARNING)


def _level(name: str) -> int:
    levels = logging.getLevelNamesMapping()
    if name.upper() not in levels:
        raise ValueError(f"unknown log level {name!r}; use DEBUG, INFO, WARNING or ERROR")
    return levels[name.upper()]


def _context_fields(record: logging.LogRecord) -> Mapping[str, Any]:
    return {name: getattr(record, name) for name in CONTEXT_FIELDS if hasattr(record, name)}


def _context_text(record: logging.LogRecord) -> str:
    fields = _context_fields(record)
    if "session_id" in fields:
        return f"[session {fields['session_id']} {fields.get('user', '')}]".replace(" ]", "]")
    if "peer" in fields:
        return f"[peer {fields['peer']}]"
    return ""


def _iso_time(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"
