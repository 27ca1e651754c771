"""Settings of the daemon, read from one TOML file.

Every group of settings is a small frozen dataclass whose fields document their unit and
default. A missing file section means the defaults; an unknown key is an error, so that a
typo in a settings file is reported instead of silently ignored.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
from collections.abc import Callable
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
    # Requests a commit keeps in flight at once when it applies or deletes many apps. The API
    # server shares the device's cores with the daemon: on two cores 4 was the fastest, and
    # more only added contention. 1 sends them one after another.
    concurrent_requests: int = 4

    def __post_init__(self) -> None:
        if self.concurrent_requests < 1:
            raise SettingsError(
                f"kubernetes.concurrent_requests must be at least 1, not {self.concurrent_requests}"
            )


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
class NetworkSettings:
    """Where port forwarding is installed and how the management side reaches the Pods.

    The defaults follow OcNOS: the management interface in one network namespace, K3s and its
    CNI bridge in another, joined by a veth pair. An empty namespace means the namespace the
    daemon runs in, so on a plain Linux host both can be empty and the veth names too.
    """

    # The namespace of the management interface; the forwarding table is installed here.
    management_namespace: str = "zebosfib1"
    # The interface external clients reach the device on.
    management_interface: str = "eth0"
    # The IPv4 address rules forward from; empty: the interface's first IPv4 address.
    management_address: str = ""
    # The namespace K3s and its CNI bridge run in.
    cluster_namespace: str = "zebosfib0"
    # The veth pair between the two namespaces, by the end in each; both empty: no veth, as
    # when both namespaces are the same.
    management_veth: str = "fib1veth"
    cluster_veth: str = "fib0veth"
    # Addresses of the two ends, with prefix length. The Pod CIDR is routed via the cluster
    # end's address. An empty cluster address means that end is a port of the cluster's
    # bridge: the management end then takes an address inside the Pod CIDR.
    management_veth_address: str = "100.64.254.1/30"
    cluster_veth_address: str = "100.64.254.2/30"
    # The Pods' addresses (K3s's default); the management namespace needs a route to it.
    pod_cidr: str = "10.42.0.0/16"
    # False: only check the veth pair, its addresses, the route and IPv4 forwarding, and report
    # what is missing. True: also create what is missing (never the namespaces).
    create_missing: bool = False
    # The one nftables table (family ip) the plugin owns in the management namespace.
    table: str = "k3s_netconf"

    def __post_init__(self) -> None:
        _check_network(self)


@dataclass(frozen=True)
class LogSettings:
    """The daemon's own log."""

    level: str = "INFO"
    # "text" for people, "json" for log collectors.
    format: str = "text"


ACCESS_OPERATIONS = frozenset({"*", "read", "create", "update", "delete", "exec"})
ACTIONS = frozenset({"permit", "deny"})


@dataclass(frozen=True)
class NacmRule:
    """One rule of RFC 8341: which requests it matches, and whether it permits or denies them.

    ``rpc_name`` makes it an rpc rule, ``path`` a data node rule; with neither it matches
    every rpc and data node of ``module_name``.
    """

    name: str
    action: str
    module_name: str = "*"
    rpc_name: str = ""
    # A data node path, its steps as module:name, such as "/k3s-netconf-apps:apps/app".
    path: str = ""
    access_operations: tuple[str, ...] = ("*",)
    comment: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise SettingsError(f"nacm rule {self.name!r}: action must be permit or deny")
        unknown = set(self.access_operations) - ACCESS_OPERATIONS
        if unknown:
            raise SettingsError(
                f"nacm rule {self.name!r}: unknown access operation(s) {sorted(unknown)}; "
                f"use {', '.join(sorted(ACCESS_OPERATIONS))}"
            )
        if self.rpc_name and self.path:
            raise SettingsError(f"nacm rule {self.name!r}: set rpc_name or path, not both")
        if self.path and not self.path.startswith("/"):
            raise SettingsError(f"nacm rule {self.name!r}: path must start with '/'")


@dataclass(frozen=True)
class NacmRuleList:
    """Rules for the users of some groups, tried in order; "*" in groups means every user."""

    name: str
    groups: tuple[str, ...] = ()
    rules: tuple[NacmRule, ...] = ()


@dataclass(frozen=True)
class NacmGroup:
    name: str
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class NacmSettings:
    """Access control by RFC 8341, kept in the settings instead of the /nacm datastore node.

    The defaults are those of RFC 8341 section 3.2.1: read and exec permitted, write denied.
    """

    enable_nacm: bool = True
    read_default: str = "permit"
    write_default: str = "deny"
    exec_default: str = "permit"
    groups: tuple[NacmGroup, ...] = ()
    rule_lists: tuple[NacmRuleList, ...] = ()

    def __post_init__(self) -> None:
        for key in ("read_default", "write_default", "exec_default"):
            if getattr(self, key) not in ACTIONS:
                raise SettingsError(f"nacm.{key} must be permit or deny")


@dataclass(frozen=True)
class ResourceSettings:
    """What the apps may take of the node, and how often their use is sampled."""

    # Kept free for the network OS: a commit whose apps would request more than the node's
    # allocatable minus this is refused. CPU in millicores, memory in bytes.
    reserve_cpu: int = 500
    reserve_memory: int = 512 * 1024 * 1024
    # Seconds between two samples of CPU and memory use (the kubelet refreshes every ~10 s).
    usage_interval: float = 15.0
    # Events kept per app for get.
    events_per_app: int = 10


@dataclass(frozen=True)
class MetricsSettings:
    """The HTTP endpoint for Prometheus; off by default, on loopback when on."""

    enabled: bool = False
    address: str = "127.0.0.1"
    port: int = 9830


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    kubernetes: KubernetesSettings = field(default_factory=KubernetesSettings)
    images: ImageSettings = field(default_factory=ImageSettings)
    volumes: VolumeSettings = field(default_factory=VolumeSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    log: LogSettings = field(default_factory=LogSettings)
    resources: ResourceSettings = field(default_factory=ResourceSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    users: tuple[User, ...] = ()
    # None: no [nacm] section, every user may do everything.
    nacm: NacmSettings | None = None


def _check_network(network: NetworkSettings) -> None:
    # Names end up in nft scripts, netlink requests and paths: refuse anything odd up front.
    for key in ("management_namespace", "cluster_namespace"):
        _check_name(network, key, _NAMESPACE_NAME)
    for key in ("management_interface", "management_veth", "cluster_veth"):
        _check_name(network, key, _INTERFACE_NAME)
    if not network.management_interface:
        raise SettingsError("network.management_interface must not be empty")
    if bool(network.management_veth) != bool(network.cluster_veth):
        raise SettingsError("network.management_veth and network.cluster_veth are set together")
    if not _TABLE_NAME.fullmatch(network.table):
        raise SettingsError(f"network.table must be an nftables name, not {network.table!r}")

    _check_ip(network, "management_address", ipaddress.IPv4Address)
    _check_ip(network, "management_veth_address", ipaddress.IPv4Interface)
    _check_ip(network, "cluster_veth_address", ipaddress.IPv4Interface)
    try:
        ipaddress.IPv4Network(network.pod_cidr)
    except ValueError as e:
        raise SettingsError(f"network.pod_cidr must be an IPv4 network: {e}") from e


def _check_name(network: NetworkSettings, key: str, pattern: re.Pattern[str]) -> None:
    value = getattr(network, key)
    if value and not pattern.fullmatch(value):
        raise SettingsError(f"network.{key} is not a usable name: {value!r}")


def _check_ip(network: NetworkSettings, key: str, kind: Callable[[str], object]) -> None:
    value = getattr(network, key)
    if not value:
        return
    try:
        kind(value)
    except ValueError as e:
        raise SettingsError(f"network.{key}: {e}") from e


_NAMESPACE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}")
# The kernel's limit is 15 bytes; '/' and blanks are refused by it, ':' confuses tools.
_INTERFACE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}")
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


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

    users = tuple(
        _build(User, entry, f"users[{i}]", base) for i, entry in enumerate(raw.get("users", []))
    )
    groups = {
        name: _build(f.default_factory, raw.get(name, {}), name, base)  # type: ignore[misc]
        for name, f in sections.items()
        if name not in ("users", "nacm")
    }
    nacm = _nacm(raw["nacm"], base) if "nacm" in raw else None
    return Settings(users=users, nacm=nacm, **groups)


def _nacm(raw: Any, base: Path) -> NacmSettings:
    # Groups and rule-lists are arrays of tables, which the generic builder does not read.
    if not isinstance(raw, dict):
        raise SettingsError("nacm must be a table")
    values = dict(raw)
    groups = tuple(
        _build(NacmGroup, entry, f"nacm.groups[{i}]", base)
        for i, entry in enumerate(_list(values.pop("groups", []), "nacm.groups"))
    )
    rule_lists = tuple(
        _rule_list(entry, f"nacm.rule_lists[{i}]", base)
        for i, entry in enumerate(_list(values.pop("rule_lists", []), "nacm.rule_lists"))
    )
    plain = _build(NacmSettings, values, "nacm", base)
    return dataclasses.replace(plain, groups=groups, rule_lists=rule_lists)


def _rule_list(raw: Any, where: str, base: Path) -> NacmRuleList:
    if not isinstance(raw, dict):
        raise SettingsError(f"{where} must be a table")
    values = dict(raw)
    rules = tuple(
        _build(NacmRule, entry, f"{where}.rules[{i}]", base)
        for i, entry in enumerate(_list(values.pop("rules", []), f"{where}.rules"))
    )
    return dataclasses.replace(_build(NacmRuleList, values, where, base), rules=rules)


def _build(cls: Any, values: dict[str, Any], where: str, base: Path) -> Any:
    if not isinstance(values, dict):
        raise SettingsError(f"{where} must be a table")

    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise SettingsError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")

    converted = {
        name: _convert(fields[name], value, f"{where}.{name}", base)
        for name, value in values.items()
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
    if kind in ("int", "float") and (
        isinstance(value, bool) or not isinstance(value, (int, float))
    ):
        raise SettingsError(f"{where} must be a number, not {value!r}")
    if kind == "str" and not isinstance(value, str):
        raise SettingsError(f"{where} must be a string, not {value!r}")
    if kind == "bool" and not isinstance(value, bool):
        raise SettingsError(f"{where} must be true or false, not {value!r}")
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
