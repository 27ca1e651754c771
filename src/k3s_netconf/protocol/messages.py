"""Reading NETCONF messages: safe XML parsing and the rules of the message layer.

The parser never expands entities, never loads a DTD or anything from the network, and a
message that carries a document type declaration is refused outright (RFC 6241 3: NETCONF
messages have none), so a client cannot make the server read files or blow up its memory.
"""

from __future__ import annotations

import threading

from lxml import etree

from k3s_netconf import errors

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"
# The namespace of the YANG 1.1 <action> operation (RFC 7950 7.15.2).
YANG = "urn:ietf:params:xml:ns:yang:1"
# The namespace of <create-subscription> (RFC 5277).
NOTIFICATION = "urn:ietf:params:xml:ns:netconf:notification:1.0"

_parsers = threading.local()


class BadHello(Exception):
    """The client's hello cannot open a session (RFC 6241 8.1)."""


def parse(data: bytes) -> etree._Element:
    """The root element of one message; raises MalformedMessage."""
    try:
        # Whitespace may follow the previous message's end marker.
        root = etree.fromstring(data.lstrip(), _parser())
    except etree.XMLSyntaxError as e:
        raise errors.MalformedMessage(f"the message is not well-formed XML: {e}") from e

    if root.getroottree().docinfo.doctype:
        raise errors.MalformedMessage(
            "a NETCONF message must not carry a document type declaration"
        )
    return root


def parse_hello(data: bytes) -> set[str]:
    """The capabilities a client's hello advertises."""
    try:
        root = parse(data)
    except errors.MalformedMessage as e:
        raise BadHello(f"the client hello is unreadable: {e.message}") from e

    if root.tag != _nc("hello"):
        raise BadHello(
            f"the client's first message is {etree.QName(root).localname!r}, not a hello"
        )
    if root.find(_nc("session-id")) is not None:
        raise BadHello("the client hello carries a session-id, which only the server may send")

    found = root.iterfind(f"{_nc('capabilities')}/{_nc('capability')}")
    capabilities = {(c.text or "").strip() for c in found}
    if not capabilities & {BASE_10, BASE_11}:
        raise BadHello("the client hello names neither base:1.0 nor base:1.1")
    return capabilities


def parse_rpc(data: bytes) -> etree._Element:
    """The ``<rpc>`` element of one message; raises MalformedMessage."""
    root = parse(data)
    if root.tag != _nc("rpc"):
        raise errors.MalformedMessage(
            f"the message is {etree.QName(root).localname!r} in namespace "
            f"{etree.QName(root).namespace!r}, not an rpc"
        )
    return root


def check_message_id(rpc: etree._Element) -> None:
    if rpc.get("message-id") is None:
        raise errors.MissingAttribute(
            "the rpc has no message-id attribute",
            error_type="rpc",
            info={"bad-attribute": "message-id", "bad-element": "rpc"},
        )


def operation(rpc: etree._Element, known_namespaces: frozenset[str]) -> etree._Element:
    """The one operation element of an rpc, in a namespace the server knows."""
    elements = [child for child in rpc if isinstance(child.tag, str)]
    if not elements:
        raise errors.MissingElement("the rpc holds no operation", error_type="protocol")
    if len(elements) > 1:
        extra = etree.QName(elements[1]).localname
        raise errors.UnknownElement(
            f"an rpc holds exactly one operation; {extra!r} is one too many",
            error_type="protocol",
            info={"bad-element": extra},
        )

    found = elements[0]
    name = etree.QName(found)
    if name.namespace is None:
        raise errors.UnknownElement(
            f"the operation {name.localname!r} has no namespace",
            error_type="protocol",
            info={"bad-element": name.localname},
        )
    if name.namespace not in known_namespaces:
        raise errors.UnknownNamespace(
            f"the operation {name.localname!r} is in namespace {name.namespace!r}, "
            "which this server does not implement",
            error_type="protocol",
            info={"bad-element": name.localname, "bad-namespace": name.namespace},
        )
    return found


def is_subscription(rpc: etree._Element) -> bool:
    """Whether the rpc asks for a subscription, whose reply must precede its notifications."""
    return any(child.tag == f"{{{NOTIFICATION}}}create-subscription" for child in rpc)


def only_parameters(operation: etree._Element, allowed: set[str], namespace: str = NC) -> None:
    """Refuse a child of an operation that is not one of its parameters."""
    for child in operation:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        # Parameters of the operation's own module are named bare (clients such as ncclient send
        # some in no namespace), those of extensions as {ns}name.
        own = name.namespace in (namespace, None) and name.localname in allowed
        if not own and child.tag not in allowed:
            raise errors.UnknownElement(
                f"{name.localname!r} is not a parameter of {etree.QName(operation).localname!r}",
                error_type="protocol",
                info={"bad-element": name.localname},
            )


def session_id_of(kill_session: etree._Element) -> int:
    """The session-id parameter of a kill-session."""
    text = kill_session.findtext(_nc("session-id"))
    if text is None:
        raise errors.MissingElement(
            "kill-session needs a session-id",
            error_type="protocol",
            info={"bad-element": "session-id"},
        )

    value = text.strip()
    if not value.isascii() or not value.isdigit() or int(value) == 0:
        raise errors.InvalidValue(
            f"{value!r} is not a session-id",
            error_type="protocol",
            info={"bad-element": "session-id"},
        )
    return int(value)


def module_namespaces(capabilities: list[str]) -> set[str]:
    """The namespaces of the YANG modules named by capabilities (RFC 6020 5.6.4)."""
    return {uri.split("?", 1)[0] for uri in capabilities if "?module=" in uri}


def _parser() -> etree.XMLParser:
    # A parser holds state while it works, so each thread gets its own.
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        # White space between elements is layout, never data (only a leaf's value keeps
        # its white space): dropping it here spares every layer below looking past it.
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_blank_text=True,
        )
        _parsers.parser = parser
    return parser


def _nc(name: str) -> str:
    return f"{{{NC}}}{name}"
