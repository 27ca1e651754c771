"""The YANG modules and submodules the server offers: what get-schema and the libraries list.

One source of truth: the files of the YANG folder, as far as the hello's capabilities name
their modules. A module counts as implemented when it sits in the model's own folder or
defines something a client can reach (data, rpcs, notifications, augments, deviations,
identities); the others are there only to be imported. Submodules follow their module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from yangson.statement import ModuleParser, Statement

from k3s_netconf import errors

_FILE_NAME = re.compile(r"(?P<name>[\w.-]+)@(?P<revision>\d{4}-\d{2}-\d{2})\.yang$")

# Top-level statements that make a module more than a library of types and groupings.
_REACHABLE = frozenset(
    {
        "container",
        "list",
        "leaf",
        "leaf-list",
        "choice",
        "anydata",
        "anyxml",
        "uses",
        "rpc",
        "notification",
        "augment",
        "deviation",
        "identity",
    }
)


@dataclass(frozen=True)
class YangFile:
    """One module or submodule file."""

    name: str
    revision: str
    namespace: str
    path: Path
    # For a submodule: the name of the module it belongs to.
    belongs_to: str | None = None
    implemented: bool = False
    features: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.path.read_text()


# (name, revision) -> the module's or submodule's statement, as a data model already parsed it.
Parsed = Mapping[tuple[str, str], Statement]


class Catalogue:
    def __init__(self, folder: Path, capabilities: list[str], known: Parsed | None = None) -> None:
        advertised = _advertised(capabilities)
        # Parsing a file again costs more than the rest of the catalogue: the daemon's start
        # hands over what its data model parsed, and only other files are read here.
        known = known or {}
        parsed = [_read(path, path.parent == folder, known) for path in _yang_files(folder)]
        modules = [
            _with_features(f, advertised[(f.name, f.revision)])
            for f in parsed
            if f.belongs_to is None and (f.name, f.revision) in advertised
        ]
        names = {m.name: m for m in modules}
        submodules = [_as_part_of(f, names[f.belongs_to]) for f in parsed if f.belongs_to in names]
        self.modules = [m for m in modules if m.implemented]
        self.import_only = [m for m in modules if not m.implemented]
        self.files = modules + submodules
        self.content_id = _content_id(self.files)

    def submodules_of(self, module: YangFile) -> list[YangFile]:
        return [f for f in self.files if f.belongs_to == module.name]

    def schema_text(self, identifier: str, version: str | None) -> str:
        """The text of one module or submodule, for get-schema (RFC 6022 3.1)."""
        named = [f for f in self.files if f.name == identifier]
        if not named:
            raise errors.InvalidValue(
                f"the server has no schema {identifier!r}; the schemas it has are listed "
                "in /netconf-state/schemas",
                info={"bad-element": "identifier"},
            )

        matches = [f for f in named if version is None or f.revision == version]
        if not matches:
            revisions = ", ".join(sorted(f.revision for f in named))
            raise errors.InvalidValue(
                f"the server has {identifier!r} in version {revisions}, not {version!r}",
                info={"bad-element": "version"},
            )
        if len(matches) > 1:
            revisions = ", ".join(sorted(f.revision for f in matches))
            raise errors.SchemaNotUnique(
                f"the server has {identifier!r} in the versions {revisions}; name one in <version>"
            )
        return matches[0].text


def _yang_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yang")) + sorted(folder.glob("ietf/*.yang"))


def _read(path: Path, in_model_folder: bool, known: Parsed) -> YangFile:
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise ValueError(f"the YANG file {path.name!r} is not named NAME@REVISION.yang")

    statement = known.get((match["name"], match["revision"])) or _parse(path, match)
    if statement.keyword == "submodule":
        parent = statement.find1("belongs-to", required=True).argument
        return YangFile(match["name"], match["revision"], "", path, belongs_to=parent)

    namespace = statement.find1("namespace", required=True).argument
    return YangFile(
        match["name"],
        match["revision"],
        namespace,
        path,
        implemented=in_model_folder or _defines_reachable(statement),
    )


def _parse(path: Path, match: re.Match[str]) -> Statement:
    return ModuleParser(path.read_text(), match["name"], match["revision"]).parse()


def _defines_reachable(statement: Statement) -> bool:
    return any(s.keyword in _REACHABLE for s in statement.substatements)


def _advertised(capabilities: list[str]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(module, revision) -> supported features, of each module a capability names."""
    found = {}
    for uri in capabilities:
        query = parse_qs(urlsplit(uri).query)
        if "module" not in query:
            continue
        features = query.get("features", [""])[0]
        key = (query["module"][0], query.get("revision", [""])[0])
        found[key] = tuple(f for f in features.split(",") if f)
    return found


def _with_features(module: YangFile, features: tuple[str, ...]) -> YangFile:
    return replace(module, features=features)


def _as_part_of(submodule: YangFile, module: YangFile) -> YangFile:
    # A submodule shares its module's namespace (RFC 7950 7.2.2).
    return replace(
        submodule,
        namespace=module.namespace,
        belongs_to=module.name,
        implemented=module.implemented,
    )


def _content_id(files: list[YangFile]) -> str:
    # Changes whenever a module, revision, feature or conformance changes (RFC 8525 3).
    facts = sorted(
        f"{f.name}@{f.revision} {f.namespace} {f.belongs_to} {f.implemented} {','.join(f.features)}"
        for f in files
    )
    return hashlib.sha256("\n".join(facts).encode()).hexdigest()[:16]
