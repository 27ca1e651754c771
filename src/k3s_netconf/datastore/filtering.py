"""Subtree filtering (RFC 6241 section 6) of a data tree, and the choice of filter type.

Among the children of a filter element, a leaf with text is a content match node (the data
must hold that value), an empty element is a selection node (keep that node whole), and an
element with children is a containment node (descend). The content matches of one sibling
set are ANDed; when they all hold, the parent is kept with the matched nodes and whatever
its selection and containment siblings select, or whole when it has no such siblings. A
filter element in no namespace matches any namespace; its attributes must match the data's.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    _pick_children(data, tuple(_read(child) for child in _elements(filter_)), selection)
    return selection.built()


@dataclass(frozen=True)
class _Selector:
    """A filter element as read once, since it is held against every entry of a list."""

    # The tag to look for among the data's children: "{*}name" for an element in no
    # namespace, which matches that name in any namespace.
    tag: str
    attributes: tuple[tuple[str, str], ...]
    # The value a content match node asks for; None for the other kinds.
    value: str | None
    matches: tuple[_Selector, ...]
    others: tuple[_Selector, ...]

    @property
    def leaf(self) -> bool:
        return not self.matches and not self.others


def _read(element: etree._Element) -> _Selector:
    children = [_read(child) for child in _elements(element)]
    text = (element.text or "").strip()
    q = etree.QName(element)
    return _Selector(
        tag=element.tag if q.namespace is not None else f"{{*}}{q.localname}",
        attributes=tuple(element.attrib.items()),
        value=text if not children and text else None,
        matches=tuple(c for c in children if c.value is not None),
        others=tuple(c for c in children if c.value is None),
    )


def _pick_children(
    data: etree._Element, selectors: tuple[_Selector, ...], selection: Selection
) -> bool:
    # Several selectors may name the same node (a list, each picking other entries): the
    # result holds what any of them selects.
    picked = False
    for selector in selectors:
        for child in _named(data, selector):
            if _pick(child, selector, selection):
                picked = True
    return picked


def _pick(data: etree._Element, selector: _Selector, selection: Selection) -> bool:
    """Whether ``selector`` selects anything of ``data``, which it names; keeps what it does."""
    if selector.leaf:
        if selector.value is not None and _value(data) != selector.value:
            return False
        selection.keep(data)
        return True

    # Every content match must hold, each by a child of its own name and value.
    matched: list[etree._Element] = []
    for match in selector.matches:
        found = [d for d in _named(data, match) if _value(d) == match.value]
        if not found:
            return False
        matched.extend(found)

    if not selector.others:
        selection.keep(data)
        return True

    for element in matched:
        selection.keep(element)
    # With content matches that hold, the entry is kept even when the rest selects nothing.
    return _pick_children(data, selector.others, selection) or bool(matched)


def _named(data: etree._Element, selector: _Selector) -> list[etree._Element]:
    """The children of ``data`` that ``selector`` names, its attributes included."""
    # Attribute match (RFC 6241 6.2.3): each attribute of the filter must be on the data.
    return [
        child
        for child in data.iterchildren(selector.tag)
        if all(child.get(name) == value for name, value in selector.attributes)
    ]


def _elements(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _value(element: etree._Element) -> str:
    return (element.text or "").strip()
