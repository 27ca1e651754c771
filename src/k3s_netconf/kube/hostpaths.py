"""Keeps the host folders that apps mount inside the allowed roots of the settings.

A host-path volume hands a folder of the device to a container that runs as root, so a path
outside the roots would expose the network OS itself. Paths are judged twice: as written
(normalized, with ``..`` refused outright) and with the symlinks of their existing parts
resolved, so that neither a backstep nor a link placed under a root can lead out of it.

The symlink check reads the file system at the time of the call; the kubelet resolves the
path again when it mounts it, so a link swapped in between is not caught here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from k3s_netconf import errors
from k3s_netconf.desired import App, Volume
from k3s_netconf.kube.manifests import normalized_host_path
from k3s_netconf.kube.paths import host_path_path


def check_host_paths(app: App, allowed_roots: Iterable[Path]) -> None:
    """Raise ``InvalidValue`` for the first volume of ``app`` whose host path leaves the roots."""
    written = [Path(normalized_host_path(str(root))) for root in allowed_roots]
    resolved = [Path(os.path.realpath(root)) for root in written]
    for volume in app.volumes:
        _check(app.name, volume, written, resolved)


def _check(app_name: str, volume: Volume, roots: list[Path], resolved_roots: list[Path]) -> None:
    where = host_path_path(app_name, volume.name)
    written = PurePosixPath(volume.host_path)

    if not written.is_absolute():
        raise errors.InvalidValue(f"the host path {volume.host_path!r} is not absolute", path=where)
    if ".." in written.parts:
        raise errors.InvalidValue(
            f"the host path {volume.host_path!r} must not contain '..'", path=where
        )

    # The written form must lie inside a root, or a link outside the roots could be re-pointed
    # later; the resolved form must too, or a link inside a root could point out of it.
    # A root may itself be a link (/cfg to a flash partition), hence both forms of the roots.
    normalized = Path(normalized_host_path(volume.host_path))
    resolved = Path(os.path.realpath(normalized))
    if not (_inside(normalized, roots + resolved_roots) and _inside(resolved, resolved_roots)):
        message = _outside_message(volume, normalized, resolved, roots)
        raise errors.InvalidValue(message, path=where)


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _outside_message(volume: Volume, normalized: Path, resolved: Path, roots: list[Path]) -> str:
    allowed = ", ".join(str(root) for root in roots) or "none configured"
    target = f" (it resolves to {str(resolved)!r})" if resolved != normalized else ""
    return (
        f"the host path {volume.host_path!r} of volume {volume.name!r} is outside the "
        f"allowed roots{target}; allowed roots: {allowed}"
    )
