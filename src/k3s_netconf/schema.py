"""The YANG schema, compiled once by yangson and indexed for the XML layer.

The edit and filter code walks XML trees and needs, for each element, what kind of node it
is, its keys and which choice case it belongs to: this module reads those facts off yangson's
compiled schema once, into small records looked up by (namespace, local name). The same
modules are loaded into libyang, which checks the datastores' trees (datastore/checking.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from yangson import DataModel
from yangson import schemanode as sn
from yangson.datatype import (
    DataType,
    IdentityrefType,
    InstanceIdentifierType,
    LeafrefType,
    UnionType,
)
from yangson.statement import Statement

# Re-exported: the layers that read the schema name the namespace through it.
from k3s_netconf.paths import APPS_NS as APPS_NS  # noqa: PLC0414 - an explicit re-export

if TYPE_CHECKING:
    from k3s_netconf.datastore.checking import Checker

APPS_MODULE = "k3s-netconf-apps"

_FILE_NAME = re.compile(r"(?P<name>[\w.-]+)@(?P<revision>\d{4}-\d{2}-\d{2})\.yang$")
_NAMESPACE = re.compile(r'^\s*namespace\s+"([^"]+)"', re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+([\w.-]+)", re.MULTILINE)


@dataclass(frozen=True)
class YangModule:
    name: str
    revision: str
    namespace: str
    path: Path
    implemented: bool
    imports: tuple[str, ...] = ()


@dataclass(eq=False)
class Node:
    """One data node of the schema, as the XML layer needs it."""

    name: str
    namespace: str
    kind: str  # "container", "list", "leaf" or "leaf-list"
    config: bool
    yang: sn.SchemaNode
    keys: tuple[str, ...] = ()
    user_ordered: bool = False
    presence: bool = False
    # The cases this node sits in, outermost first, as (choice, case) schema nodes.
    cases: tuple[tuple[sn.SchemaNode, sn.SchemaNode], ...] = ()
    # For a leaf or leaf-list: whether its value reads the same without the XML namespace
    # declarations around it (identityrefs and instance-identifiers carry prefixes).
    context_free: bool = True
    children: dict[tuple[str, str], Node] = field(default_factory=dict)

    @cached_property
    def tag(self) -> str:
        return f"{{{self.namespace}}}{self.name}"

    @property
    def is_leafy(self) -> bool:
        return self.kind in ("leaf", "leaf-list")

    def child(self, namespace: str, name: str) -> Node | None:
        return self.children.get((namespace, name))


class Schema:
    """The compiled model: yangson's DataModel plus the XML-facing index."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.modules = _find_modules(folder)
        library = _yang_library(_loadable(self.modules))
        self.datamodel = DataModel(library, [str(folder), str(folder / "ietf")])
        self.module_of_namespace = {m.namespace: m.name for m in self.modules}
        self.root = Node("", "", "container", True, self.datamodel.schema)
        _index_children(self.root, self.datamodel.schema, self._namespace_of, ())

    @cached_property
    def checker(self) -> Checker:
        # Imported here: the datastore package imports this module.
        from k3s_netconf.datastore.checking import Checker

        loadable = {m.name for m in _loadable(self.modules)}
        implemented = [m.name for m in self.implemented if m.name in loadable]
        return Checker([self.folder, self.folder / "ietf"], implemented)

    def statements(self) -> dict[tuple[str, str], Statement]:
        """Each module's and submodule's parsed statement, by (name, revision)."""
        modules = self.datamodel.schema_data.modules
        return {(name, revision): data.statement for (name, revision), data in modules.items()}

    def _namespace_of(self, module: str) -> str:
        return next(m.namespace for m in self.modules if m.name == module)

    def knows_namespace(self, namespace: str) -> bool:
        return namespace in self.module_of_namespace

    @property
    def implemented(self) -> list[YangModule]:
        return [m for m in self.modules if m.implemented]


@cache
def load() -> Schema:
    """The project's schema, from the YANG files shipped in the package."""
    with resources.as_file(resources.files("k3s_netconf") / "yang") as folder:
        return Schema(Path(folder))


def _find_modules(folder: Path) -> list[YangModule]:
    modules = []
    for path in sorted(folder.glob("*.yang")) + sorted(folder.glob("ietf/*.yang")):
        match = _FILE_NAME.match(path.name)
        text = path.read_text()
        namespace = _NAMESPACE.search(text)
        if match is None or namespace is None:
            continue
        modules.append(
            YangModule(
                name=match["name"],
                revision=match["revision"],
                namespace=namespace.group(1),
                path=path,
                implemented=path.parent == folder,
                imports=tuple(_IMPORT.findall(text)),
            )
        )
    return modules


def _loadable(modules: list[YangModule]) -> list[YangModule]:
    """The modules whose imports are all at hand: yangson refuses a library with any other.

    ietf-netconf-with-defaults augments ietf-netconf, which defines no data and is not
    shipped; it is advertised all the same, for the parameter it adds to get and get-config.
    """
    names = {m.name for m in modules}
    return [m for m in modules if set(m.imports) <= names]


def _yang_library(modules: list[YangModule]) -> str:
    entries = [
        {
            "name": m.name,
            "revision": m.revision,
            "namespace": m.namespace,
            "conformance-type": "implement" if m.implemented else "import",
        }
        for m in modules
    ]
    library = {"module-set-id": "k3s-netconf", "module": entries}
    return json.dumps({"ietf-yang-library:modules-state": library})


_KINDS: list[tuple[type, str]] = [
    (sn.ListNode, "list"),
    (sn.LeafListNode, "leaf-list"),
    (sn.LeafNode, "leaf"),
    (sn.ContainerNode, "container"),
]


def _index_children(parent: Node, yang: sn.InternalNode, ns_of, cases) -> None:
    for child in yang.children:
        if isinstance(child, sn.ChoiceNode):
            for case in child.children:
                _index_children(parent, case, ns_of, cases + ((child, case),))
            continue

        kind = next((k for cls, k in _KINDS if isinstance(child, cls)), None)
        if kind is None:
            # rpcs, actions, notifications and anydata are not data the datastores hold.
            continue

        node = Node(
            name=child.name,
            namespace=ns_of(child.ns),
            kind=kind,
            config=bool(child.config),
            yang=child,
            keys=tuple(k[0] for k in getattr(child, "keys", ())),
            user_ordered=bool(getattr(child, "user_ordered", False)),
            presence=bool(getattr(child, "presence", False)),
            cases=cases,
            context_free=_context_free(getattr(child, "type", None)),
        )
        parent.children[(node.namespace, node.name)] = node
        if isinstance(child, sn.InternalNode):
            _index_children(node, child, ns_of, ())


def _context_free(kind: DataType | None) -> bool:
    if isinstance(kind, IdentityrefType | InstanceIdentifierType):
        return False
    if isinstance(kind, UnionType):
        return all(_context_free(member) for member in kind.types)
    if isinstance(kind, LeafrefType):
        return _context_free(kind.ref_type)
    return True
