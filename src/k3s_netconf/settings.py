"""Settings of the daemon, read from one TOML file.

Every group of settings is a small frozen dataclass whose fields document their unit and
default. A missing file section means the defaults; an unknown key is an error, so that a
typo in a settings file is reported instead of silently ignored.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """The settings file cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class User:
    """A NETCONF user.

    ``password_hash`` is a bcrypt hash (``k3s-netconfd hash-password`` prints one); clear-text
    passwords are never accepted. ``authorized_keys`` holds OpenSSH public key lines.
    """

    name: str
    password_hash: str = ""
    authorized_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServerSettings:
    """The SSH listener and where the daemon keeps its files."""

    address: str = "0.0.0.0"
    port: int = 830
    # Holds the host key, the saved datastores and the lock against a second daemon.
    state_dir: Path = Path("/var/lib/k3s-netconf")
    # Made on first start when missing, then kept, so clients see the same host key.
    host_key: Path | None = None
    # Messages larger than this close the session: a bound on memory per session.
    max_message_bytes: int = 16 * 1024 * 1024
    # Idle sessions are closed after this many seconds (0 keeps them forever).
    idle_timeout: float = 0.0
    # Seconds a client has to complete SSH and the hello exchange.
    hello_timeout: float = 30.0

    @property
    def host_key_path(self) -> Path:
        return self.host_key or self.state_dir / "ssh_host_ed25519_key"


@dataclass(frozen=True)
class KubernetesSettings:
    """How to reach the cluster and where the apps live in it."""

    # Empty: K3s's kubeconfig when present, else the client's default lookup.
    kubeconfig: str = ""
    # The one namespace the plugin owns; it creates it when missing.
    namespace: str = "k3s-netconf"
    # Seconds to wait for a deleted app's Pods to go before the commit fails.
    delete_timeout: float = 60.0
    # Seconds one API request may take.
    request_timeout: float = 10.0


@dataclass(frozen=True)
class ImageSettings:
    """The container runtime that holds the images Pods run."""

    # The containerd socket; K3s's embedded containerd by default.
    containerd_address: str = "/run/k3s/containerd/containerd.sock"
    # The containerd CLI; ``k3s ctr`` works as well as Debian's ``ctr``.
    ctr: tuple[str, ...] = ("ctr",)
    # Archives are only read from inside this folder.
    folder: Path = Path("/var/lib/k3s-netconf/images")
    # Seconds one import may take.
    import_timeout: float = 300.0


@dataclass(frozen=True)
class VolumeSettings:
    """Which folders of the device apps may mount."""

    allowed_roots: tuple[Path, ...] = (Path("/cfg"),)


@dataclass(frozen=True)
class LogSettings:
    """The daemon's own log."""

    level: str = "INFO"
    # "text" for people, "json" for log collectors.
    format: str = "text"


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    kubernetes: KubernetesSettings = field(default_factory=KubernetesSettings)
    images: ImageSettings = field(default_factory=ImageSettings)
    volumes: VolumeSettings = field(default_factory=VolumeSettings)
    log: LogSettings = field(default_factory=LogSettings)
    users: tuple[User, ...] = ()


def load(path: Path) -> Settings:
    """Read settings from a TOML file; relative paths in it resolve against its folder."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"cannot read settings file {str(path)!r}: {e}") from e
    return from_mapping(raw, base=path.resolve().parent)


def from_mapping(raw: dict[str, Any], base: Path = Path(".")) -> Settings:
    sections = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = set(raw) - set(sections)
    if unknown:
        raise SettingsError(f"unknown settings section(s): {', '.join(sorted(unknown))}")

    users = tuple(_build(User, entry, f"users[{i}]", base) for i, entry in enumerate(raw.get("users", [])))
    groups = {
        name: _build(f.default_factory, raw.get(name, {}), name, base)  # type: ignore[misc]
        for name, f in sections.items()
        if name != "users"
    }
    return Settings(users=users, **groups)


def _build(cls: Any, values: dict[str, Any], where: str, base: Path) -> Any:
    if not isinstance(values, dict):
        raise SettingsError(f"{where} must be a table")

    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise SettingsError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")

    converted = {
        name: _convert(fields[name], value, f"{where}.{name}", base) for name, value in values.items()
    }
    try:
        return cls(**converted)
    except TypeError as e:
        raise SettingsError(f"{where}: {e}") from e


def _convert(f: dataclasses.Field[Any], value: Any, where: str, base: Path) -> Any:
    # The annotations are strings (postponed evaluation), so the kind is read from them.
    kind = str(f.type)
    if "Path" in kind and "tuple" in kind:
        return tuple(_path(v, where, base) for v in _list(value, where))
    if "tuple" in kind:
        return tuple(str(v) for v in _list(value, where))
    if "Path" in kind:
        return _path(value, where, base)
    if kind in ("int", "float") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise SettingsError(f"{where} must be a number, not {value!r}")
    if kind == "str" and not isinstance(value, str):
        raise SettingsError(f"{where} must be a string, not {value!r}")
    return float(value) if kind == "float" else value


def _list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise SettingsError(f"{where} must be a list, not {value!r}")
    return value


def _path(value: Any, where: str, base: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{where} must be a non-empty path, not {value!r}")
    return (base / value) if not value.startswith("/") else Path(value)
