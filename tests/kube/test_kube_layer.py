"""The Kubernetes layer stays a layer: typed values in, typed values out, no XML, no protocol."""

from __future__ import annotations

import ast
from pathlib import Path

import k3s_netconf.kube

KUBE = Path(k3s_netconf.kube.__file__).parent

# What the layer may use of the project: the typed values, the errors and the settings.
ALLOWED_PROJECT_MODULES = {
    "k3s_netconf.desired",
    "k3s_netconf.observed",
    "k3s_netconf.errors",
    "k3s_netconf.settings",
    "k3s_netconf.paths",
}
FORBIDDEN_LIBRARIES = {"lxml", "xml", "yangson", "netconf", "paramiko"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
            found.add(node.module)
    return found


def test_the_kube_layer_imports_only_typed_values_errors_and_settings_of_the_project():
    for path in sorted(KUBE.glob("*.py")):
        project = {m for m in imported_modules(path) if m.startswith("k3s_netconf.")}
        outside = {
            m
            for m in project
            if not m.startswith("k3s_netconf.kube")
            and not any(m == a or m.startswith(f"{a}.") for a in ALLOWED_PROJECT_MODULES)
            and m != "k3s_netconf"
        }
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_the_kube_layer_never_touches_xml_or_the_protocol():
    for path in sorted(KUBE.glob("*.py")):
        roots = {m.split(".")[0] for m in imported_modules(path)}
        assert not roots & FORBIDDEN_LIBRARIES, f"{path.name} imports {roots & FORBIDDEN_LIBRARIES}"
