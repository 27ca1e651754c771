"""One exception root for everything that ends as an ``<rpc-error>``.

Each leaf carries its NETCONF meaning (RFC 6241 appendix A): the error-type says which layer
failed, the error-tag what kind of failure it was, the error-path which node of the request
or the datastore it concerns. The protocol layer turns these into XML in exactly one place,
so code below it raises the leaf that fits and never builds XML itself.
"""

from __future__ import annotations

from collections.abc import Mapping


class NetconfError(Exception):
    """A failure that is reported to the client as one ``<rpc-error>``."""

    tag = "operation-failed"
    error_type = "application"
    # RFC 7950 section 15 names some failures more precisely (must-violation, ...).
    app_tag: str | None = None

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        info: Mapping[str, str] | None = None,
        error_type: str | None = None,
        tag: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.info: dict[str, str] = dict(info or {})
        if error_type is not None:
            self.error_type = error_type
        if tag is not None:
            self.tag = tag

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        return f"{self.tag}: {self.message}{where}"


class OperationFailed(NetconfError):
    """The request was fine but carrying it out failed (cluster, containerd, disk)."""

    tag = "operation-failed"


class SchemaNotUnique(OperationFailed):
    """get-schema names a schema the server has in several versions (RFC 6022 3.1)."""

    app_tag = "data-not-unique"


class InvalidValue(NetconfError):
    """A value breaks the model or a rule of the plugin."""

    tag = "invalid-value"


class DataExists(NetconfError):
    """``create`` of a node that is already there."""

    tag = "data-exists"


class DataMissing(NetconfError):
    """``delete`` of a node that is not there, or a reference to a missing node."""

    tag = "data-missing"


class MissingElement(NetconfError):
    """An expected element is absent (a mandatory leaf, a list key, an rpc parameter)."""

    tag = "missing-element"


class UnknownElement(NetconfError):
    """An element the model or the operation does not define."""

    tag = "unknown-element"


class UnknownNamespace(NetconfError):
    """An element in a namespace the server does not know."""

    tag = "unknown-namespace"


class BadElement(NetconfError):
    """An element that is known but not allowed where it stands."""

    tag = "bad-element"


class UnknownAttribute(NetconfError):
    """An attribute the operation does not define."""

    tag = "unknown-attribute"


class BadAttribute(NetconfError):
    """An attribute whose value is not allowed."""

    tag = "bad-attribute"


class MissingAttribute(NetconfError):
    """An expected attribute is absent."""

    tag = "missing-attribute"


class LockDenied(NetconfError):
    """The target is locked by another session; ``info`` names that session."""

    tag = "lock-denied"
    error_type = "protocol"


class InUse(NetconfError):
    """The resource is in use by another session or by configured data."""

    tag = "in-use"


class AccessDenied(NetconfError):
    """The user may not do this."""

    tag = "access-denied"


class OperationNotSupported(NetconfError):
    """The server does not implement this operation or parameter."""

    tag = "operation-not-supported"
    error_type = "protocol"


class ResourceDenied(NetconfError):
    """Not enough resources: memory, CPU on the node, message size."""

    tag = "resource-denied"


class TooBig(NetconfError):
    """The request, or the object it would make, is larger than can be handled."""

    tag = "too-big"


class MalformedMessage(NetconfError):
    """The message is not well-formed XML or not an rpc (base:1.1 only)."""

    tag = "malformed-message"
    error_type = "rpc"


class NetconfErrors(NetconfError):
    """Several failures reported together, one ``<rpc-error>`` each."""

    def __init__(self, errors: list[NetconfError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
