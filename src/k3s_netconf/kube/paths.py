"""Error-paths of the model's nodes, for errors about an app or one of its volumes."""

from __future__ import annotations

from k3s_netconf import paths


def app_path(app_name: str) -> str:
    return paths.app(app_name)


def host_path_path(app_name: str, volume_name: str) -> str:
    volume = paths.entry(app_path(app_name), paths.APPS_NS, "volume", {"name": volume_name})
    return f"{volume}/{paths.step(paths.APPS_NS, 'host-path')}"
