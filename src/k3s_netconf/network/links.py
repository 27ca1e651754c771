"""What the links between the management namespace and the Pods lack, one sentence each.

``check`` compares a survey of the two namespaces (links, IPv4 addresses, IPv4 forwarding per
link, and which link the Pod CIDR is routed out of) with the settings and says what is
missing: the daemon reports it in get instead of failing. The survey itself, and completing
what is missing, are ``netlink``'s, which alone talks to the kernel.

Without forwarding rules and without links to complete there is no survey (pyroute2, which
it needs, is imported only for one): ``unsurveyed`` then says only what can be seen without
it, whether the management namespace exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from k3s_netconf.network import commands
from k3s_netconf.settings import NetworkSettings

UNSURVEYED = "the links are surveyed once a forwarding rule is configured"


@dataclass(frozen=True)
class Link:
    name: str
    kind: str | None  # "veth", "bridge", ...; None for a plain device
    up: bool
    addresses: tuple[str, ...]  # "192.0.2.1/24"
    forwarding: bool


@dataclass(frozen=True)
class Side:
    """One namespace as surveyed; ``pod_route`` names the link the Pod CIDR is routed out of."""

    namespace: str
    exists: bool
    links: Mapping[str, Link] = field(default_factory=dict)
    pod_route: str | None = None
    # Why the namespace could not be read, when it exists but netlink refused.
    unreadable: str | None = None


@dataclass(frozen=True)
class Survey:
    management: Side
    cluster: Side


@dataclass(frozen=True)
class Check:
    """The outcome: the management address to forward from, and what is missing."""

    address: str | None
    problems: tuple[str, ...]
    # Why no table can be installed at all (no namespace, no address); None when one can.
    blocker: str | None = None


def check(settings: NetworkSettings, seen: Survey) -> Check:
    management = seen.management
    if not management.exists:
        return _absent(management.namespace)

    unreadable = [side.unreadable for side in (management, seen.cluster) if side.unreadable]
    if unreadable:
        # Without a set address there is nothing to forward from.
        address = settings.management_address or None
        return Check(address, tuple(unreadable), None if address else unreadable[0])

    problems = _interface_problems(settings, management)
    address, blocker = _address(settings, management)
    if blocker is not None:
        problems.append(blocker)
    problems += _veth_problems(settings, seen)
    problems += _route_problems(settings, management)
    return Check(address, tuple(problems), blocker)


def unsurveyed(settings: NetworkSettings) -> Check:
    """What is known without a survey: whether the management namespace exists."""
    if not commands.exists(settings.management_namespace):
        return _absent(settings.management_namespace)
    return Check(settings.management_address or None, (UNSURVEYED,))


def _absent(namespace: str) -> Check:
    absent = f"{commands.where(namespace)} (management_namespace) does not exist"
    return Check(None, (absent,), absent)


# Checking


def _interface_problems(settings: NetworkSettings, side: Side) -> list[str]:
    name = settings.management_interface
    link = side.links.get(name)
    if link is None:
        return [f"the management interface {name!r} is missing in {commands.where(side.namespace)}"]

    problems = []
    if not link.up:
        problems.append(f"the management interface {name!r} is down")
    if not link.forwarding:
        problems.append(f"IPv4 forwarding is off on the management interface {name!r}")
    return problems


def _address(settings: NetworkSettings, side: Side) -> tuple[str | None, str | None]:
    if settings.management_address:
        return settings.management_address, None

    link = side.links.get(settings.management_interface)
    if link is None or not link.addresses:
        return None, (
            f"no management address: the interface {settings.management_interface!r} has no "
            "IPv4 address and management_address is not set"
        )
    return link.addresses[0].split("/")[0], None


def _veth_problems(settings: NetworkSettings, seen: Survey) -> list[str]:
    if not settings.management_veth:
        return []
    if not seen.cluster.exists:
        return [f"{commands.where(seen.cluster.namespace)} (cluster_namespace) does not exist"]

    problems = _end_problems(
        seen.management, settings.management_veth, settings.management_veth_address
    )
    # A cluster end without an address is a port of the cluster's bridge: it only switches.
    problems += _end_problems(seen.cluster, settings.cluster_veth, settings.cluster_veth_address)
    return problems


def _end_problems(side: Side, name: str, address: str) -> list[str]:
    link = side.links.get(name)
    where = commands.where(side.namespace)
    if link is None:
        return [f"the veth {name!r} is missing in {where}"]

    problems = []
    if link.kind != "veth":
        problems.append(f"{name!r} in {where} is a {link.kind or 'plain'} link, not a veth")
    if not link.up:
        problems.append(f"the veth {name!r} in {where} is down")
    if address and address not in link.addresses:
        problems.append(f"the veth {name!r} in {where} lacks its address {address}")
    if address and not link.forwarding:
        problems.append(f"IPv4 forwarding is off on the veth {name!r} in {where}")
    return problems


def _route_problems(settings: NetworkSettings, side: Side) -> list[str]:
    where = commands.where(side.namespace)
    if side.pod_route is None:
        return [f"the Pod CIDR {settings.pod_cidr} has no route in {where}"]
    if settings.management_veth and side.pod_route != settings.management_veth:
        via = f"via {side.pod_route!r}, not via the veth {settings.management_veth!r}"
        return [f"the Pod CIDR {settings.pod_cidr} is routed {via}, in {where}"]

    # Without a veth the Pods' answers arrive on the cluster's own bridge, to be forwarded.
    link = side.links.get(side.pod_route)
    if not settings.management_veth and link is not None and not link.forwarding:
        return [f"IPv4 forwarding is off on {side.pod_route!r}, the link to the Pods"]
    return []
