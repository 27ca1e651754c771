"""edit-config (RFC 6241 section 7.2) applied to a configuration tree.

The edit is walked together with the schema: every element must be a configuration node of
the model, list entries are matched by their keys and leaf-list entries by value. Operations
are inherited by descendants. ``create`` and ``replace`` build the node afresh and merge the
edit's content into it, so nested operations inside them follow the same rules as anywhere
else. The tree is changed in place: callers edit a copy and keep it only when the whole edit,
and the validation after it, succeed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from lxml import etree

from k3s_netconf import errors, paths
from k3s_netconf.datastore import defaults
from k3s_netconf.schema import Node, Schema

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
OPERATION = f"{{{NC}}}operation"
OPERATIONS = frozenset({"merge", "replace", "create", "delete", "remove", "none"})
DEFAULT_OPERATIONS = frozenset({"merge", "replace", "none"})


@dataclass
class Edited:
    """What an edit did to the tree, besides changing it."""

    # The list entries the edit went into (created, replaced or merged into): every other
    # entry of the tree is as it was.
    entries: set[etree._Element] = field(default_factory=set)
    # Whether some new entry was copied from the edit, unchecked (see ``apply``).
    copied: bool = False


def apply(
    schema: Schema,
    target: etree._Element,
    config: etree._Element,
    default: str,
    copy_new_entries: bool = False,
) -> Edited:
    """Apply the children of ``config`` to the datastore root ``target``.

    With ``copy_new_entries``, a list entry the edit creates and that holds no attribute
    and nothing outside the model's plain data is copied from the edit without checking its
    values, choices or repeated leaves: the caller must validate the whole result, and walk
    the edit again without copies when that validation fails, for the walk's errors name
    the problem better. Walking each node costs some ten times more than copying it.
    """
    editor = _Editor(schema, copy_new_entries)
    editor.edit_children(target, config, schema.root, default, "")
    editor.prune()
    return editor.edited


def _split(tag: str) -> tuple[str, str]:
    namespace, _, name = tag[1:].partition("}")
    return namespace, name


# The entries of one list under one parent, by their key values in the order of the keys.
_Entries = dict[tuple[str, ...], etree._Element]


class _Editor:
    def __init__(self, schema: Schema, copy_new_entries: bool) -> None:
        self.schema = schema
        self.copy_new_entries = copy_new_entries
        # Each list is indexed once, when first edited: looking each edited entry up by a scan
        # made an edit of n entries cost n * n key comparisons.
        self._entries: dict[tuple[etree._Element, str], _Entries] = {}
        # Containers the edit went into, parents first: only these can have become empty.
        self._containers: list[tuple[etree._Element, Node]] = []
        self.edited = Edited()

    def prune(self) -> None:
        """Drop the containers the edit left empty, innermost first, unless they are presence
        containers: what the edit did not go into is as it was, pruned already."""
        for element, node in reversed(self._containers):
            parent = element.getparent()
            if not node.presence and len(element) == 0 and parent is not None:
                parent.remove(element)

    def edit_children(
        self,
        target: etree._Element,
        edit: etree._Element,
        parent: Node,
        inherited: str,
        path: str,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        leaves: set[str] = set()
        for child in edit:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions carry no data
            # Before the skip: a list's key given twice is a duplicate like any other leaf.
            self._check_once(parent, child, leaves, path)
            if skip and _split(child.tag)[1] in skip:
                continue
            node = self._node(parent, child, path)
            operation = self._operation(child, inherited, path)
            if node.kind == "list":
                self._edit_list_entry(target, child, node, operation, path)
            elif node.kind == "leaf-list":
                self._edit_leaf_list_entry(target, child, node, operation, path)
            elif node.kind == "leaf":
                self._edit_leaf(target, child, node, operation, path)
            else:
                self._edit_container(target, child, node, operation, path)

    def _check_once(self, parent: Node, child: etree._Element, leaves: set[str], path: str) -> None:
        """Refuse a leaf given twice under one parent: either value winning would be a guess."""
        node = parent.child(*_split(child.tag)) if child.tag.startswith("{") else None
        if node is None or node.kind != "leaf":
            return

        if child.tag in leaves:
            raise errors.BadElement(
                f"{node.name!r} is given twice; a leaf holds one value, so give it once",
                path=f"{path}/{paths.step(node.namespace, node.name)}",
                info={"bad-element": node.name},
                error_type="application",
            )
        leaves.add(child.tag)

    def _node(self, parent: Node, child: etree._Element, path: str) -> Node:
        namespace, name = _split(child.tag) if child.tag.startswith("{") else ("", child.tag)
        where = f"{path}/{paths.step(namespace, name)}"
        if not namespace:
            raise errors.UnknownElement(
                f"{name!r} has no namespace; configuration elements need the model's namespace",
                path=where,
                info={"bad-element": name},
                error_type="application",
            )
        if not parent.yang.parent and not self.schema.knows_namespace(namespace):
            raise errors.UnknownNamespace(
                f"the namespace {namespace!r} of {name!r} is not one this server knows",
                path=where,
                info={"bad-element": name, "bad-namespace": namespace},
                error_type="application",
            )

        node = parent.child(namespace, name)
        if node is None:
            raise errors.UnknownElement(
                f"{name!r} is not part of the model here",
                path=where,
                info={"bad-element": name},
                error_type="application",
            )
        if not node.config:
            raise errors.InvalidValue(
                f"{name!r} is state data and cannot be configured",
                path=where,
                info={"bad-element": name},
            )
        return node

    def _operation(self, child: etree._Element, inherited: str, path: str) -> str:
        name = etree.QName(child).localname
        operation = inherited
        for attribute, value in child.attrib.items():
            if attribute == defaults.TAG:
                continue  # checked against the leaf's default with its value
            if attribute != OPERATION:
                # Includes a bare 'operation' without the NETCONF namespace: not a merge.
                raise errors.UnknownAttribute(
                    f"the attribute {etree.QName(attribute).localname!r} is not supported on "
                    f"{name!r}; an edit operation is written nc:operation in the namespace {NC}",
                    path=f"{path}/{paths.step(etree.QName(child).namespace or '', name)}",
                    error_type="protocol",
                    info={"bad-attribute": etree.QName(attribute).localname, "bad-element": name},
                )
            if value not in OPERATIONS - {"none"}:
                raise errors.BadAttribute(
                    f"{value!r} is not an edit operation; use merge, replace, create, delete "
                    "or remove",
                    path=f"{path}/{paths.step(etree.QName(child).namespace or '', name)}",
                    error_type="protocol",
                    info={"bad-attribute": "operation", "bad-element": name},
                )
            operation = value
        return operation

    # Containers

    def _edit_container(
        self, target: etree._Element, edit: etree._Element, node: Node, operation: str, path: str
    ) -> None:
        where = f"{path}/{paths.step(node.namespace, node.name)}"
        existing = target.find(node.tag)

        if operation in ("delete", "remove"):
            self._remove(target, existing, operation, where)
            return
        if operation == "create" and existing is not None:
            raise errors.DataExists(f"{node.name!r} already exists", path=where)
        if operation == "replace" and existing is not None:
            target.remove(existing)
            existing = None
        if existing is None:
            if operation == "none" and node.presence:
                raise errors.DataMissing(f"{node.name!r} does not exist", path=where)
            existing = self._new_child(target, node)

        self._containers.append((existing, node))
        self.edit_children(existing, edit, node, operation, where)

    # Lists

    def _edit_list_entry(
        self, target: etree._Element, edit: etree._Element, node: Node, operation: str, path: str
    ) -> None:
        keys = self._keys(edit, node, path)
        where = paths.entry(path, node.namespace, node.name, keys)
        entries = self._entries_of(target, node)
        existing = entries.get(tuple(keys.values()))

        if operation in ("delete", "remove"):
            self._remove(target, existing, operation, where)
            entries.pop(tuple(keys.values()), None)
            return
        if operation == "create" and existing is not None:
            raise errors.DataExists(f"{node.name} {_describe(keys)} already exists", path=where)
        if operation == "none" and existing is None:
            raise errors.DataMissing(
                f"{node.name} {_describe(keys)} does not exist and the edit does not create it "
                "(default-operation is none)",
                path=where,
            )

        copied = _copied_entry(edit, node) if existing is None and self.copy_new_entries else None
        if copied is not None:
            target.append(copied)
            entries[tuple(keys.values())] = copied
            self.edited.entries.add(copied)
            self.edited.copied = True
            return

        if existing is None or operation == "replace":
            fresh = self._new_child(target, node)
            for key, value in keys.items():
                etree.SubElement(fresh, f"{{{node.namespace}}}{key}").text = value
            if existing is not None:
                existing.addprevious(fresh)
                target.remove(existing)
            existing = entries[tuple(keys.values())] = fresh

        self.edited.entries.add(existing)
        # The keys identify the entry; they are not edited themselves.
        self.edit_children(existing, edit, node, operation, where, skip=frozenset(keys))

    def _entries_of(self, target: etree._Element, node: Node) -> _Entries:
        entries = self._entries.get((target, node.tag))
        if entries is None:
            entries = self._entries[(target, node.tag)] = {}
            tags = tuple(f"{{{node.namespace}}}{k}" for k in node.keys)
            for entry in target.iterfind(node.tag):
                # The first of entries with equal keys is the one found, as a scan would.
                entries.setdefault(_key_values(entry, tags), entry)
        return entries

    def _keys(self, edit: etree._Element, node: Node, path: str) -> dict[str, str]:
        keys = {}
        for key in node.keys:
            leaf = edit.find(f"{{{node.namespace}}}{key}")
            if leaf is None or leaf.text is None or not leaf.text.strip():
                raise errors.MissingElement(
                    f"{node.name!r} entries are identified by {key!r}, which is missing",
                    path=f"{path}/{paths.step(node.namespace, node.name)}",
                    info={"bad-element": key},
                    error_type="application",
                )
            keys[key] = leaf.text.strip()
            key_node = node.child(node.namespace, key)
            if key_node is not None:
                where = paths.entry(path, node.namespace, node.name, keys)
                _check_value(key_node, keys[key], f"{where}/{paths.step(node.namespace, key)}")
        return keys

    # Leaves

    def _edit_leaf(
        self, target: etree._Element, edit: etree._Element, node: Node, operation: str, path: str
    ) -> None:
        where = f"{path}/{paths.step(node.namespace, node.name)}"
        existing = target.find(node.tag)
        done = self._without_value(
            target,
            existing,
            operation,
            where,
            exists=f"{node.name!r} already has a value",
            missing=f"{node.name!r} has no value",
        )
        if done:
            return

        value = _leaf_value(edit, node, where)
        defaults.check_tagged(node, edit, where)
        if existing is None:
            existing = self._new_child(target, node)
        existing.text = value

    def _edit_leaf_list_entry(
        self, target: etree._Element, edit: etree._Element, node: Node, operation: str, path: str
    ) -> None:
        value = _leaf_value(edit, node, f"{path}/{paths.step(node.namespace, node.name)}")
        where = f"{path}/{paths.step(node.namespace, node.name)}[.={paths.quote(value)}]"
        existing = next((e for e in target.iterfind(node.tag) if (e.text or "") == value), None)

        done = self._without_value(
            target,
            existing,
            operation,
            where,
            exists=f"{node.name!r} already holds {value!r}",
            missing=f"{node.name!r} does not hold {value!r}",
        )
        if not done and existing is None:
            self._new_child(target, node).text = value

    # Shared steps

    def _without_value(
        self,
        target: etree._Element,
        existing: etree._Element | None,
        operation: str,
        where: str,
        exists: str,
        missing: str,
    ) -> bool:
        """The operations on a leaf or leaf-list entry that need no new value: True when the
        operation is carried out (delete, remove, none), False when a value is to be set."""
        if operation in ("delete", "remove"):
            self._remove(target, existing, operation, where)
            return True
        if operation == "create" and existing is not None:
            raise errors.DataExists(exists, path=where)
        if operation == "none":
            if existing is None:
                raise errors.DataMissing(missing, path=where)
            return True
        return False

    def _remove(
        self, target: etree._Element, existing: etree._Element | None, operation: str, where: str
    ) -> None:
        if existing is not None:
            target.remove(existing)
        elif operation == "delete":
            raise errors.DataMissing(
                "the node to delete does not exist (use 'remove' to delete it only if present)",
                path=where,
            )

    def _new_child(self, target: etree._Element, node: Node) -> etree._Element:
        # A node of one case of a choice replaces the nodes of the choice's other cases.
        if node.cases:
            parent = self._schema_node_of(target)
            for sibling in list(target):
                other = parent.child(*_split(sibling.tag)) if parent else None
                if other is not None and _other_case(node, other):
                    target.remove(sibling)
                    self._entries.pop((target, sibling.tag), None)

        nsmap = None if target.nsmap.get(None) == node.namespace else {None: node.namespace}
        return etree.SubElement(target, node.tag, nsmap=nsmap)

    def _schema_node_of(self, element: etree._Element) -> Node | None:
        chain = []
        while element is not None and element.getparent() is not None:
            chain.append(element)
            element = element.getparent()
        node: Node | None = self.schema.root
        for e in reversed(chain):
            node = node.child(*_split(e.tag)) if node else None
        return node


def _copied_entry(edit: etree._Element, node: Node) -> etree._Element | None:
    """A new list entry made of a copy of the edit's, as the walk would build it but without
    its checks; None when anything in it needs the walk (see ``_needs_walk``)."""
    check = _needs_walk(node)
    if check is None:
        return None

    entry = copy.deepcopy(edit)
    entry.attrib.clear()  # the entry's operation, read already
    entry.text = entry.tail = None
    if check(entry):
        return None
    # The copy declares the namespaces in scope of the edit, such as the operation's prefix.
    etree.cleanup_namespaces(entry)
    return entry


@cache
def _needs_walk(node: Node) -> etree.XPath | None:
    """A test, in one XPath run by libxml2, of whether a copied entry of the list ``node``
    differs from what the walk would build, or holds what only the walk checks (libyang,
    which validates the result, checks the rest: unknown and state nodes, values, repeated
    leaves, cases of one choice). None when no entry of the list may be copied: it sits in a
    case, which the walk ends the others of, or holds values read with namespace prefixes.

    It is true for an attribute, a comment or a processing instruction below the entry, a
    prefixed element (the datastore writes default namespaces), a leaf whose value has
    surrounding or repeated white space (the walk strips it), text beside elements, an
    empty non-presence container (the walk drops it) and a list entry whose keys do not come
    first, in their order (the walk writes them so). White space between elements is gone
    already: messages are parsed without it.
    """
    below = dict(_paths(node, ()))
    if node.cases or not all(n.context_free for n in below.values()):
        return None

    namespaces = sorted({node.namespace, *(n.namespace for n in below.values())})
    prefixes = {f"n{i}": namespace for i, namespace in enumerate(namespaces)}
    prefix = {namespace: p for p, namespace in prefixes.items()}

    def keys_first(list_node: Node) -> str:
        return " and ".join(
            f"*[{i}][self::{prefix[list_node.namespace]}:{key}]"
            for i, key in enumerate(list_node.keys, 1)
        )

    tests = [
        "descendant::*/@*",
        "descendant::comment()",
        "descendant::processing-instruction()",
        "descendant-or-self::*[contains(name(), ':')]",
        "descendant::*[not(*)][string() != normalize-space()]",
        "descendant-or-self::*[* and text()]",
        f"self::*[not({keys_first(node)})]",
    ]
    for path, n in below.items():
        step = "/".join(f"{prefix[namespace]}:{name}" for namespace, name in path)
        if n.kind == "container" and not n.presence:
            tests.append(f"{step}[not(node())]")
        elif n.kind == "list":
            tests.append(f"{step}[not({keys_first(n)})]")
    return etree.XPath(f"boolean({' | '.join(tests)})", namespaces=prefixes)


def _paths(
    node: Node, parent: tuple[tuple[str, str], ...]
) -> Iterator[tuple[tuple[tuple[str, str], ...], Node]]:
    """The configuration nodes under ``node``, with their paths from it."""
    for key, child in node.children.items():
        if child.config:
            path = (*parent, key)
            yield path, child
            yield from _paths(child, path)


def _other_case(node: Node, other: Node) -> bool:
    chosen = dict(node.cases)
    return any(choice in chosen and chosen[choice] is not case for choice, case in other.cases)


def _key_values(entry: etree._Element, tags: tuple[str, ...]) -> tuple[str, ...]:
    # The datastore writes keys first, in their order: looking there first spares a search
    # through every entry of a long list.
    head = entry[: len(tags)]
    if len(head) == len(tags) and all(e.tag == tag for e, tag in zip(head, tags, strict=True)):
        return tuple((e.text or "").strip() for e in head)
    return tuple((entry.findtext(tag) or "").strip() for tag in tags)


def _leaf_value(edit: etree._Element, node: Node, where: str) -> str:
    if any(isinstance(c.tag, str) for c in edit):
        raise errors.InvalidValue(
            f"{node.name!r} is a leaf and holds a value, not elements",
            path=where,
            info={"bad-element": node.name},
        )
    value = (edit.text or "").strip()
    _check_value(node, value, where)
    return value


def _check_value(node: Node, value: str, where: str) -> None:
    """The value against its YANG type (RFC 7950 section 8.3.1): checked as it is parsed,
    also in the candidate, whose other constraints wait for commit."""
    kind = node.yang.type
    parsed = kind.parse_value(value)
    if parsed is not None and parsed in kind:
        return
    detail = kind.error_message or f"not a valid {kind}"
    raise errors.InvalidValue(f"{value!r} is not a valid {node.name}: {detail}", path=where)


def _describe(keys: dict[str, str]) -> str:
    return ", ".join(f"{k} {v!r}" for k, v in keys.items())
