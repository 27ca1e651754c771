"""The operations the server offers, behind the protocol layer.

The protocol layer hands each rpc's operation element to ``Service.handle``; everything
below this point works on datastores and typed values. Grows with the datastore layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from lxml import etree

from k3s_netconf import errors
from k3s_netconf.settings import Settings

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


class Session(Protocol):
    """What the service needs to know of a NETCONF session."""

    session_id: int
    username: str


Handler = Callable[[Session, etree._Element], "etree._Element | None"]


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._operations: dict[str, Handler] = {
            f"{{{NC}}}get": self._get,
            f"{{{NC}}}get-config": self._get,
        }

    def capabilities(self) -> list[str]:
        """Capabilities beyond base:1.0 and base:1.1, advertised in the server's hello."""
        return []

    def handle(self, session: Session, operation: etree._Element) -> etree._Element | None:
        """Carry out one operation; return the reply's content, or None for ``<ok/>``."""
        handler = self._operations.get(operation.tag)
        if handler is None:
            raise errors.OperationNotSupported(
                f"the operation {etree.QName(operation).localname!r} is not supported",
                error_type="protocol",
            )
        return handler(session, operation)

    def session_ended(self, session: Session) -> None:
        """Release what the session held: called once per session, however it ended."""

    def _get(self, session: Session, operation: etree._Element) -> etree._Element:
        return etree.Element(f"{{{NC}}}data")
