"""Instance paths for error-path elements, written with the prefixes of ``schema.PREFIXES``."""

from __future__ import annotations

from k3s_netconf.schema import PREFIXES

_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}


def step(namespace: str, name: str) -> str:
    prefix = _PREFIX_OF.get(namespace)
    return f"{prefix}:{name}" if prefix else name


def entry(parent: str, namespace: str, name: str, keys: dict[str, str]) -> str:
    """The path of a list entry: ``/ka:apps/ka:app[ka:name='web']``."""
    predicates = "".join(f"[{step(namespace, k)}={quote(v)}]" for k, v in keys.items())
    return f"{parent}/{step(namespace, name)}{predicates}"


def quote(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    return f'"{value}"'
