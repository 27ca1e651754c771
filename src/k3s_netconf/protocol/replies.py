"""Writing NETCONF messages: the hello, ``<rpc-reply>`` and, in one place, ``<rpc-error>``.

Code below the protocol layer raises ``errors.NetconfError`` leaves and never builds error XML;
``add_errors`` is where they become ``<rpc-error>`` elements (RFC 6241 4.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeAlias

from lxml import etree

from k3s_netconf import errors, paths, xmltext
from k3s_netconf.protocol.messages import NC

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


Result: TypeAlias = etree._Element | list[etree._Element] | None


def hello(capabilities: Iterable[str], session_id: int) -> etree._Element:
    root = etree.Element(_nc("hello"), nsmap={None: NC})
    holder = etree.SubElement(root, _nc("capabilities"))
    for uri in capabilities:
        _leaf(holder, _nc("capability"), uri)
    _leaf(root, _nc("session-id"), str(session_id))
    return root


def rpc_reply(rpc: etree._Element | None) -> etree._Element:
    """An empty reply to ``rpc``, or to a message that could not be read as one."""
    if rpc is None:
        return etree.Element(_nc("rpc-reply"), nsmap={None: NC})

    # RFC 6241 4.2: every attribute of the rpc comes back unchanged; the rpc's namespace
    # declarations come along so that prefixed attributes keep their prefixes.
    return etree.Element(_nc("rpc-reply"), attrib=dict(rpc.attrib), nsmap=rpc.nsmap)


# Stands in the serialized reply where the result goes: a processing instruction cannot occur
# in what else the reply holds (the rpc's attribute values have their "<" escaped).
_RESULT = "k3s-netconf-result"
_RESULT_TEXT = etree.tostring(etree.PI(_RESULT))


def with_result(reply: etree._Element, result: Result) -> bytes:
    """The reply serialized with what the operation returned: ``<ok/>`` for None.

    The result's elements are serialized where they are, with the namespaces in scope there:
    they may sit in a tree of the service, such as a datastore's, which an append would tear
    them out of, and a copy of a large tree costs more than serializing it.
    """
    if result is None:
        etree.SubElement(reply, _nc("ok"))
        return serialized(reply)

    elements = result if isinstance(result, list) else [result]
    reply.append(etree.PI(_RESULT))
    body = b"".join(etree.tostring(e, encoding="UTF-8", with_tail=False) for e in elements)
    return serialized(reply).replace(_RESULT_TEXT, body, 1)


def serialized(message: etree._Element) -> bytes:
    return etree.tostring(message, encoding="UTF-8", xml_declaration=True)


def add_errors(reply: etree._Element, error: errors.NetconfError) -> None:
    for each in _leaves(error):
        reply.append(rpc_error(each))


def rpc_error(error: errors.NetconfError) -> etree._Element:
    element = etree.Element(_nc("rpc-error"))
    _leaf(element, _nc("error-type"), error.error_type)
    _leaf(element, _nc("error-tag"), error.tag)
    _leaf(element, _nc("error-severity"), "error")
    if error.app_tag:
        _leaf(element, _nc("error-app-tag"), error.app_tag)
    if error.path:
        # The path's prefixes must resolve where the client reads it.
        path = etree.SubElement(element, _nc("error-path"), nsmap=paths.PREFIXES)
        path.text = error.path
    _leaf(element, _nc("error-message"), error.message).set(XML_LANG, "en")

    if error.info:
        info = etree.SubElement(element, _nc("error-info"))
        for name, value in error.info.items():
            # Plain names (bad-element, session-id...) are the base namespace's own.
            _leaf(info, name if name.startswith("{") else _nc(name), str(value))
    return element


def _leaves(error: errors.NetconfError) -> Iterator[errors.NetconfError]:
    if isinstance(error, errors.NetconfErrors) and error.errors:
        for each in error.errors:
            yield from _leaves(each)
    else:
        yield error


def _leaf(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = xmltext.clean(text)
    return element


def _nc(name: str) -> str:
    return f"{{{NC}}}{name}"
