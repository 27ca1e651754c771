"""The with-defaults modes (RFC 6243) of a data tree that get, get-config or copy-config read.

The datastores hold what clients set, so ``explicit`` (the basic mode) reports a tree as it
is. ``report-all`` adds every leaf default the YANG model gives, where the leaf's parent
exists (a non-presence container is made for it) and the leaf's choice case is the one in
effect; ``report-all-tagged`` does the same and marks every leaf that holds its default
with ``wd:default="true"``; ``trim`` leaves out every leaf that holds its default. The
defaults come from yangson's compiled schema.
"""

from __future__ import annotations

from functools import cache

from lxml import etree

from k3s_netconf import errors
from k3s_netconf.schema import Node, Schema

MODULE_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
WD = "urn:ietf:params:xml:ns:netconf:default:1.0"
PARAMETER = f"{{{MODULE_NS}}}with-defaults"
TAG = f"{{{WD}}}default"
MODES = ("explicit", "report-all", "report-all-tagged", "trim")
BASIC_MODE = "explicit"
CAPABILITY = (
    "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit"
    "&also-supported=report-all,report-all-tagged,trim"
)


def mode_of(operation: etree._Element) -> str:
    """The mode an operation's ``<with-defaults>`` parameter asks for; the basic mode without."""
    parameter = operation.find(PARAMETER)
    if parameter is None:
        return BASIC_MODE

    mode = (parameter.text or "").strip()
    if mode not in MODES:
        raise errors.InvalidValue(
            f"with-defaults must be one of {', '.join(MODES)}, not {mode!r}",
            error_type="protocol",
            info={"bad-element": "with-defaults"},
        )
    return mode


def reported(schema: Schema, tree: etree._Element, mode: str, config_only: bool) -> etree._Element:
    """``tree``, changed in place, as ``mode`` reports it; state nodes only if not ``config_only``."""
    if mode == "trim":
        _trim(schema.root, tree)
    elif mode in ("report-all", "report-all-tagged"):
        _fill(schema.root, tree, config_only)
        if mode == "report-all-tagged":
            _tag(schema.root, tree)
            # One declaration of the prefix at the top, not one on every tagged leaf.
            etree.cleanup_namespaces(tree, top_nsmap={"wd": WD})
    return tree


def default_of(node: Node) -> str | None:
    """The canonical text of a leaf's schema default, or None where it has none."""
    if node.kind != "leaf":
        return None
    value = getattr(node.yang, "default", None)
    return None if value is None else node.yang.type.canonical_string(value)


def holds_default(node: Node, element: etree._Element) -> bool:
    """Whether a leaf's element holds the value of its schema default."""
    default = getattr(node.yang, "default", None) if node.kind == "leaf" else None
    if default is None:
        return False
    return node.yang.type.parse_value((element.text or "").strip()) == default


def check_tagged(node: Node, edit: etree._Element, where: str) -> None:
    """An edited leaf tagged ``wd:default="true"`` must hold its default (RFC 6243).

    A client that read a report-all-tagged reply may send its leaves back as they came.
    """
    if edit.get(TAG, "false").strip() not in ("true", "1"):
        return
    if not holds_default(node, edit):
        default = default_of(node)
        has = f"its default is {default!r}" if default is not None else "it has no default"
        raise errors.InvalidValue(
            f"{node.name!r} is tagged as holding its default, but {has}, not "
            f"{(edit.text or '').strip()!r}",
            path=where,
            info={"bad-attribute": "default", "bad-element": node.name},
        )


def _children(node: Node, element: etree._Element):
    """Each child element of ``element`` with its schema node; unknown elements are skipped."""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        q = etree.QName(child)
        found = node.child(q.namespace or "", q.localname)
        if found is not None:
            yield found, child


def _fill(node: Node, element: etree._Element, config_only: bool) -> None:
    present = {child.tag for child in element if isinstance(child.tag, str)}
    for child, text in _fillable(node, config_only):
        if child.tag in present or not _case_in_effect(node, child, present):
            continue
        added = etree.SubElement(element, child.tag, nsmap={None: child.namespace})
        if text is not None:
            added.text = text

    for child, found in _children(node, element):
        if child.kind in ("container", "list"):
            _fill(child, found, config_only)


@cache
def _fillable(node: Node, config_only: bool) -> tuple[tuple[Node, str | None], ...]:
    """What report-all may add below ``node``: leaves with their default, and the
    non-presence containers that would hold defaults (with None).

    Worked out once per schema node: a get of a hundred apps asks it for every entry.
    """
    found: list[tuple[Node, str | None]] = []
    for child in node.children.values():
        if config_only and not child.config:
            continue
        text = default_of(child)
        if text is not None:
            found.append((child, text))
        elif child.kind == "container" and not child.presence and _has_defaults(child, config_only):
            found.append((child, None))
    return tuple(found)


def _has_defaults(node: Node, config_only: bool) -> bool:
    # Only what report-all would fill in is worth a container of its own.
    return any(not child.cases for child, _ in _fillable(node, config_only))


def _case_in_effect(parent: Node, child: Node, present: set[str]) -> bool:
    """Whether ``child``'s choice cases are those in effect among the present siblings."""
    for choice, case in child.cases:
        siblings = [n for n in parent.children.values() if any(c is choice for c, _ in n.cases)]
        chosen = [n for n in siblings if n.tag in present]
        if chosen:
            if not any(k is case for n in chosen for c, k in n.cases if c is choice):
                return False
        elif getattr(choice, "default_case", None) != case.qual_name:
            return False
    return True


def _tag(node: Node, element: etree._Element) -> None:
    for child, found in _children(node, element):
        if holds_default(child, found):
            found.set(TAG, "true")
        elif child.kind in ("container", "list"):
            _tag(child, found)


def _trim(node: Node, element: etree._Element) -> None:
    for child, found in list(_children(node, element)):
        if holds_default(child, found):
            element.remove(found)
        elif child.kind in ("container", "list"):
            _trim(child, found)
