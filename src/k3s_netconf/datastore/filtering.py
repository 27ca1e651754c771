"""Subtree filtering (RFC 6241 section 6) of a data tree, and the choice of filter type.

Among the children of a filter element, a leaf with text is a content match node (the data
must hold that value), an empty element is a selection node (keep that node whole), and an
element with children is a containment node (descend). The content matches of one sibling
set are ANDed; when they all hold, the parent is kept with the matched nodes and whatever
its selection and containment siblings select, or whole when it has no such siblings. A
filter element in no namespace matches any namespace; its attributes must match the data's.
"""

from __future__ import annotations

from lxml import etree

from k3s_netconf import errors
from k3s_netconf.datastore import xpath
from k3s_netconf.datastore.selecting import Selection
from k3s_netconf.schema import Schema


def filtered(
    schema: Schema, data: etree._Element, filter_: etree._Element | None
) -> etree._Element:
    """``data`` as a get or get-config ``<filter>`` of either type selects it."""
    if filter_ is None:
        return data

    kind = filter_.get("type", "subtree")
    if kind == "subtree":
        return subtree(data, filter_)
    if kind == "xpath":
        return xpath.selected(schema, data, filter_)
    raise errors.InvalidValue(
        f"filter type {kind!r} is unknown; use 'subtree' or 'xpath'",
        error_type="protocol",
        info={"bad-attribute": "type", "bad-element": "filter"},
    )


def subtree(data: etree._Element, filter_: etree._Element) -> etree._Element:
    """A new element like ``data`` that holds only what ``filter_``'s children select."""
    selection = Selection(data)
    _pick_children(data, _elements(filter_), selection)
    return selection.built()


def _pick_children(
    data: etree._Element, selectors: list[etree._Element], selection: Selection
) -> bool:
    # Several selectors may name the same node (a list, each picking other entries): the
    # result holds what any of them selects.
    picked = False
    for child in data:
        if not isinstance(child.tag, str):
            continue
        for selector in selectors:
            if _same_node(child, selector) and _pick(child, selector, selection):
                picked = True
    return picked


def _pick(data: etree._Element, selector: etree._Element, selection: Selection) -> bool:
    """Whether ``selector`` selects anything of ``data``, which it names; keeps what it does."""
    children = _elements(selector)
    if not children:
        if _is_content_match(selector) and _value(data) != _value(selector):
            return False
        selection.keep(data)
        return True

    matches = [f for f in children if _is_content_match(f)]
    matched = [d for d in data if any(_matches(d, m) for m in matches)]
    if any(not any(_matches(d, m) for d in matched) for m in matches):
        return False

    others = [f for f in children if not _is_content_match(f)]
    if not others:
        selection.keep(data)
        return True

    for element in matched:
        selection.keep(element)
    # With content matches that hold, the entry is kept even when the rest selects nothing.
    return _pick_children(data, others, selection) or bool(matched)


def _elements(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _is_content_match(element: etree._Element) -> bool:
    return not _elements(element) and bool(element.text and element.text.strip())


def _matches(data: etree._Element, match: etree._Element) -> bool:
    return isinstance(data.tag, str) and _same_node(data, match) and _value(data) == _value(match)


def _same_node(data: etree._Element, selector: etree._Element) -> bool:
    d, s = etree.QName(data), etree.QName(selector)
    if d.localname != s.localname or s.namespace not in (None, d.namespace):
        return False
    # Attribute match (RFC 6241 6.2.3): each attribute of the filter must be on the data.
    return all(data.get(name) == value for name, value in selector.attrib.items())


def _value(element: etree._Element) -> str:
    return (element.text or "").strip()
