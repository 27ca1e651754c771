"""The layers stay apart: each package imports only what its place in the stack allows."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "k3s_netconf"

# Package (or module) -> project modules and outside libraries it must never import.
FORBIDDEN = {
    "protocol": [
        "k3s_netconf.kube",
        "k3s_netconf.datastore",
        "k3s_netconf.images",
        "k3s_netconf.planning",
        "kubernetes",
    ],
    "planning": [
        "k3s_netconf.kube",
        "k3s_netconf.images",
        "k3s_netconf.protocol",
        "lxml",
        "kubernetes",
        "subprocess",
    ],
    "kube": ["k3s_netconf.protocol", "k3s_netconf.datastore", "lxml"],
    "images": ["k3s_netconf.protocol", "k3s_netconf.datastore", "k3s_netconf.kube", "lxml"],
    "datastore": ["k3s_netconf.protocol", "k3s_netconf.kube", "k3s_netconf.images", "kubernetes"],
    "network": [
        "k3s_netconf.protocol",
        "k3s_netconf.datastore",
        "k3s_netconf.kube",
        "k3s_netconf.images",
        "k3s_netconf.planning",
        "lxml",
        "kubernetes",
    ],
    "desired.py": ["lxml", "kubernetes"],
    "observed.py": ["lxml", "kubernetes"],
}


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_what_lies_outside_its_place(layer):
    target = PACKAGE / layer
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert files, f"{layer} has no source files"

    breaches = [
        f"{f.relative_to(PACKAGE)} imports {name}"
        for f in files
        for name in imports_of(f)
        for banned in FORBIDDEN[layer]
        if name == banned or name.startswith(banned + ".")
    ]
    assert breaches == []
