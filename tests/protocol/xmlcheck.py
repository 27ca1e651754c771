"""Semantic XML checks: replies are parsed and compared as trees, never as strings."""

from __future__ import annotations

from typing import Any

from lxml import etree

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def canonical(xml: str | bytes | etree._Element) -> str:
    """C14N 2.0 without insignificant whitespace, with prefixes made uniform."""
    if not isinstance(xml, etree._Element):
        xml = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    return etree.canonicalize(xml, strip_text=True, rewrite_prefixes=True)


def same_xml(a: str | bytes | etree._Element, b: str | bytes | etree._Element) -> bool:
    return canonical(a) == canonical(b)


def rpc_errors(reply: etree._Element) -> list[dict[str, Any]]:
    """Each rpc-error of a reply as a dict: type, tag, severity, path, message, lang, info."""
    found = []
    for error in reply.iterfind(f"{{{NC}}}rpc-error"):
        message = error.find(f"{{{NC}}}error-message")
        info = error.find(f"{{{NC}}}error-info")
        found.append(
            {
                "type": error.findtext(f"{{{NC}}}error-type"),
                "tag": error.findtext(f"{{{NC}}}error-tag"),
                "severity": error.findtext(f"{{{NC}}}error-severity"),
                "path": error.findtext(f"{{{NC}}}error-path"),
                "message": message.text if message is not None else None,
                "lang": message.get("{http://www.w3.org/XML/1998/namespace}lang")
                if message is not None
                else None,
                "info": {
                    etree.QName(child).localname: child.text
                    for child in (info if info is not None else [])
                    if etree.QName(child).namespace == NC
                },
            }
        )
    return found


def the_error(reply: etree._Element) -> dict[str, Any]:
    """The one rpc-error of a reply."""
    assert reply.tag == f"{{{NC}}}rpc-reply", etree.tostring(reply)
    found = rpc_errors(reply)
    assert len(found) == 1, etree.tostring(reply)
    return found[0]


def is_ok(reply: etree._Element) -> bool:
    return reply.tag == f"{{{NC}}}rpc-reply" and [c.tag for c in reply] == [f"{{{NC}}}ok"]
