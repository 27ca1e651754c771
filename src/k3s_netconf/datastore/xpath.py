"""XPath filtering (RFC 6241 section 8.9) of a data tree, evaluated by lxml.

The expression's prefixes are those declared on the ``<filter>`` element. In NETCONF the
root of an absolute path is the conceptual root above the top-level data nodes, while in
the tree lxml evaluates it is the document node above ``<data>``: absolute location paths
get one step down to ``<data>`` before evaluation. Each node the expression selects is
returned with its ancestors and, for the list entries among them, their keys.
"""

from __future__ import annotations

import re

from lxml import etree

from k3s_netconf import errors
from k3s_netconf.datastore.selecting import Selection
from k3s_netconf.schema import Node, Schema

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<literal>"[^"]*"|'[^']*')
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<name>[A-Za-z_][\w.-]*(?::(?:[A-Za-z_][\w.-]*|\*))?)
    | (?P<op>//|/|::|\.\.|\.|@|,|\(|\)|\[|\]|\||\+|-|!=|<=|>=|=|<|>|\*|\$)
    )""",
    re.VERBOSE,
)
_STEP = re.compile(r"\s*[A-Za-z_*.@]")
_OPERATOR_NAMES = frozenset({"and", "or", "div", "mod"})


def selected(schema: Schema, data: etree._Element, filter_: etree._Element) -> etree._Element:
    """A new element like ``data`` with what the filter's ``select`` expression selects."""
    expression = filter_.get("select")
    if expression is None or not expression.strip():
        raise errors.MissingAttribute(
            "an xpath filter needs a select attribute holding the expression",
            error_type="protocol",
            info={"bad-attribute": "select", "bad-element": "filter"},
        )

    found = _evaluate(data, expression, {p: ns for p, ns in filter_.nsmap.items() if p})
    selection = Selection(data)
    for node in found:
        # A text node or an attribute stands for its element; namespace nodes for nothing.
        if isinstance(node, etree._Element):
            element = node
        else:
            element = node.getparent() if hasattr(node, "getparent") else None
        if element is None or not isinstance(element.tag, str):
            continue
        selection.keep(element)
        _keep_keys(schema, data, element, selection)
    return selection.built()


def rooted(expression: str) -> str:
    """``expression`` with each absolute location path starting at the top-level data nodes."""
    out: list[str] = []
    operand_ended = False
    position = 0
    for match in _TOKEN.finditer(expression):
        if match.start() != position:
            break
        position = match.end()
        token = match.group().strip()
        kind = match.lastgroup
        if kind == "op" and token in ("/", "//") and not operand_ended:
            # One step down from the document node to <data>; a lone "/" is <data> itself.
            step_follows = _STEP.match(expression, position) is not None
            token = "/*" + token if token == "//" or step_follows else "/*"
        out.append(match.group().replace(match.group().strip(), token, 1))
        operand_ended = _ends_operand(kind, token, operand_ended)
    return "".join(out) + expression[position:]


def _ends_operand(kind: str | None, token: str, operand_ended: bool) -> bool:
    if kind in ("literal", "number"):
        return True
    if kind == "name":
        # "and" after an operand is the operator, elsewhere a name.
        return not (operand_ended and token in _OPERATOR_NAMES)
    if token == "*":
        return not operand_ended
    return token in (")", "]", ".", "..") or token.endswith("/*")


def _evaluate(data: etree._Element, expression: str, namespaces: dict[str, str]) -> list:
    try:
        result = etree.XPath(rooted(expression), namespaces=namespaces)(data)
    except etree.XPathError as e:
        raise errors.InvalidValue(
            f"the xpath filter {expression!r} cannot be evaluated: {e}; its prefixes must be "
            "declared with xmlns on the <filter> element",
            error_type="protocol",
            info={"bad-attribute": "select", "bad-element": "filter"},
        ) from e

    if not isinstance(result, list):
        raise errors.InvalidValue(
            f"the xpath filter {expression!r} yields {result!r}, not a set of nodes",
            error_type="protocol",
            info={"bad-attribute": "select", "bad-element": "filter"},
        )
    return result


def _keep_keys(
    schema: Schema, data: etree._Element, element: etree._Element, selection: Selection
) -> None:
    # The path from the top-level node down, each step paired with its schema node.
    steps = [a for a in element.iterancestors() if a is not data]
    steps.reverse()
    node: Node | None = schema.root
    for step in steps:
        q = etree.QName(step)
        node = node.child(q.namespace or "", q.localname) if node is not None else None
        if node is None:
            return
        for key in node.keys:
            leaf = step.find(f"{{{node.namespace}}}{key}")
            if leaf is not None:
                selection.keep(leaf)
