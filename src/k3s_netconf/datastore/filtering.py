"""Subtree filtering (RFC 6241 section 6) of a data tree.

A filter element with children selects the matching elements of the data below it. Among
siblings, a leaf with text is a content match (the data must hold that value), an empty
element is a selection (return that node whole), and an element with children is a
containment node (descend). When content matches have no selection or containment siblings,
the whole matching parent is returned. A filter element in no namespace matches any.
"""

from __future__ import annotations

import copy

from lxml import etree


def subtree(data: etree._Element, filter_: etree._Element) -> etree._Element:
    """A new element like ``data`` that holds only what ``filter_``'s children select."""
    result = etree.Element(data.tag, nsmap=data.nsmap)
    selectors = [f for f in filter_ if isinstance(f.tag, str)]
    for child in data:
        selected = _first_selection(child, selectors)
        if selected is not None:
            result.append(selected)
    return result


def _first_selection(
    data: etree._Element, selectors: list[etree._Element]
) -> etree._Element | None:
    # Several selectors may name the same list, each picking other entries.
    for selector in selectors:
        if _same_node(data, selector):
            selected = _select(data, selector)
            if selected is not None:
                return selected
    return None


def _select(data: etree._Element, selector: etree._Element) -> etree._Element | None:
    children = [f for f in selector if isinstance(f.tag, str)]
    if not children:
        if selector.text and selector.text.strip():
            return _copy(data) if (data.text or "").strip() == selector.text.strip() else None
        return _copy(data)

    matches = [f for f in children if _is_content_match(f)]
    for match in matches:
        if not any(_same_node(d, match) and _value(d) == _value(match) for d in data):
            return None

    others = [f for f in children if not _is_content_match(f)]
    if not others:
        return _copy(data)

    result = etree.Element(data.tag, nsmap=data.nsmap)
    result.text = None
    for child in data:
        if any(_same_node(child, m) for m in matches):
            result.append(_copy(child))
            continue
        selected = _first_selection(child, others)
        if selected is not None:
            result.append(selected)
    return result if len(result) else None


def _is_content_match(element: etree._Element) -> bool:
    has_children = any(isinstance(c.tag, str) for c in element)
    return not has_children and bool(element.text and element.text.strip())


def _same_node(data: etree._Element, selector: etree._Element) -> bool:
    d, s = etree.QName(data), etree.QName(selector)
    return d.localname == s.localname and (s.namespace is None or s.namespace == d.namespace)


def _value(element: etree._Element) -> str:
    return (element.text or "").strip()


def _copy(element: etree._Element) -> etree._Element:
    return copy.deepcopy(element)
