"""Error-paths of the model's nodes, for errors about an app or one of its volumes."""

from __future__ import annotations

MODULE = "k3s-netconf-apps"


def app_path(app_name: str) -> str:
    return f"/{MODULE}:apps/app[name='{app_name}']"


def host_path_path(app_name: str, volume_name: str) -> str:
    return f"{app_path(app_name)}/volume[name='{volume_name}']/host-path"
