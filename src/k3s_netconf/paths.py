"""Instance paths for error-path elements, written with the server's own prefixes.

Every layer that reports an error about a node of the model writes its path here, so that a
client sees one style: ``/ka:apps/ka:app[ka:name='web']/ka:image``.
"""

from __future__ import annotations

APPS_NS = "urn:k3s-netconf:yang:apps"
PREFIXES = {"ka": APPS_NS}

_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}


def step(namespace: str, name: str) -> str:
    prefix = _PREFIX_OF.get(namespace)
    return f"{prefix}:{name}" if prefix else name


def entry(parent: str, namespace: str, name: str, keys: dict[str, str]) -> str:
    """The path of a list entry: ``/ka:apps/ka:app[ka:name='web']``."""
    predicates = "".join(f"[{step(namespace, k)}={quote(v)}]" for k, v in keys.items())
    return f"{parent}/{step(namespace, name)}{predicates}"


def app(name: str) -> str:
    return entry(f"/{step(APPS_NS, 'apps')}", APPS_NS, "app", {"name": name})


def image(name: str) -> str:
    return entry(f"/{step(APPS_NS, 'images')}", APPS_NS, "image", {"name": name})


def forwarding() -> str:
    return f"/{step(APPS_NS, 'port-forwarding')}"


def quote(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    return f'"{value}"'
