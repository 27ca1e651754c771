"""The links between the management namespace and the Pods: surveyed, checked, completed.

``survey`` reads what each namespace has with pyroute2 (links, IPv4 addresses, IPv4
forwarding per link, and which link the Pod CIDR is routed out of). ``check`` compares that
with the settings and says, one sentence each, what is missing: the daemon reports it in
get instead of failing. ``complete`` creates what is missing when the settings ask for it:
the veth pair, its addresses, the route to the Pods and IPv4 forwarding on the links that
carry the forwarded traffic. Namespaces belong to the network operating system and are
never created (pyroute2 is told not to).
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyroute2 import IPRoute  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from k3s_netconf.network import commands
from k3s_netconf.settings import NetworkSettings

logger = logging.getLogger(__name__)

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTN_LOCAL = 2
# How many of the Pod CIDR's first addresses are tried to find where Pod traffic goes.
ROUTE_PROBES = 4


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


class CreateFailed(Exception):
    """A missing link, address, route or setting could not be created."""


def survey(settings: NetworkSettings) -> Survey:
    management = _side(settings.management_namespace, settings.pod_cidr)
    if settings.cluster_namespace == settings.management_namespace:
        return Survey(management, management)
    return Survey(management, _side(settings.cluster_namespace, settings.pod_cidr))


def check(settings: NetworkSettings, seen: Survey) -> Check:
    management = seen.management
    if not management.exists:
        absent = f"{commands.where(management.namespace)} (management_namespace) does not exist"
        return Check(None, (absent,), absent)

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


def complete(settings: NetworkSettings, seen: Survey) -> Survey:
    """Create what the survey lacks, as far as the settings allow; the survey taken after.

    Raises CreateFailed when netlink or sysctl refuses a change.
    """
    if not (seen.management.exists and seen.cluster.exists):
        return seen
    try:
        _create(settings, seen)
    except (OSError, NetlinkError, commands.CommandFailed) as e:
        raise CreateFailed(str(e)) from e
    return survey(settings)


def _create(settings: NetworkSettings, seen: Survey) -> None:
    if settings.management_veth:
        _make_veth(settings, seen)
        _address_and_raise(
            settings.management_namespace,
            settings.management_veth,
            settings.management_veth_address,
        )
        _address_and_raise(
            settings.cluster_namespace, settings.cluster_veth, settings.cluster_veth_address
        )
        _route_pods(settings)
    _enable_forwarding(settings, survey(settings))


# Surveying


def _side(namespace: str, pod_cidr: str) -> Side:
    if not commands.exists(namespace):
        return Side(namespace, exists=False)
    try:
        with _ipr(namespace) as ipr:
            addresses = _addresses(ipr)
            links = [_link(raw, addresses) for raw in ipr.get_links()]
            names = {index: link.name for index, link in links}
            return Side(
                namespace,
                True,
                {link.name: link for _, link in links},
                _route_out(ipr, pod_cidr, names),
            )
    except FileNotFoundError:
        # Removed between the look and the survey.
        return Side(namespace, exists=False)
    except (OSError, NetlinkError) as e:
        return Side(namespace, True, unreadable=f"cannot read {commands.where(namespace)}: {e}")


def _ipr(namespace: str) -> IPRoute:
    # flags=0: pyroute2 would otherwise create a namespace that does not exist.
    return IPRoute(netns=namespace, flags=0) if namespace else IPRoute()


def _addresses(ipr: IPRoute) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for raw in ipr.get_addr(family=socket.AF_INET):
        found.setdefault(raw["index"], []).append(f"{raw.get('address')}/{raw['prefixlen']}")
    return found


def _link(raw: Any, addresses: Mapping[int, list[str]]) -> tuple[int, Link]:
    inet = (raw.get("IFLA_AF_SPEC") or {}).get("AF_INET") or {}
    return raw["index"], Link(
        name=raw.get("ifname"),
        kind=raw.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
        up=bool(raw["flags"] & IFF_UP),
        addresses=tuple(addresses.get(raw["index"], ())),
        forwarding=bool(inet.get("forwarding")),
    )


def _route_out(ipr: IPRoute, pod_cidr: str, names: Mapping[int, str]) -> str | None:
    # The kernel's own lookup for a Pod address says where Pod traffic would go, whatever mix
    # of connected, static and default routes decides it. The first addresses of the CIDR may
    # be the namespace's own (the bridge's gateway address), which says nothing: skip those.
    hosts = ipaddress.IPv4Network(pod_cidr).hosts()
    for probe in itertools.islice(hosts, ROUTE_PROBES):
        try:
            (route, *_) = ipr.route("get", dst=str(probe))
        except (NetlinkError, ValueError):
            return None
        if route["type"] != RTN_LOCAL:
            return names.get(route.get("RTA_OIF"))
    return None


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


# Completing


def _make_veth(settings: NetworkSettings, seen: Survey) -> None:
    have_management = settings.management_veth in seen.management.links
    have_cluster = settings.cluster_veth in seen.cluster.links
    if have_management or have_cluster:
        return  # complete, or half of something that is not ours to replace

    with _ipr(settings.management_namespace) as ipr:
        ipr.link(
            "add",
            ifname=settings.management_veth,
            kind="veth",
            peer={"ifname": settings.cluster_veth},
        )
        if settings.cluster_namespace != settings.management_namespace:
            (index,) = ipr.link_lookup(ifname=settings.cluster_veth)
            ipr.link("set", index=index, **_namespace_target(settings.cluster_namespace))
    logger.info(
        "Created the veth pair %r (in %s) and %r (in %s).",
        settings.management_veth,
        commands.where(settings.management_namespace),
        settings.cluster_veth,
        commands.where(settings.cluster_namespace),
    )


def _namespace_target(namespace: str) -> dict[str, Any]:
    # The daemon's own namespace is named by its pid; others by their name under /run/netns.
    return {"net_ns_fd": namespace} if namespace else {"net_ns_pid": os.getpid()}


def _address_and_raise(namespace: str, name: str, address: str) -> None:
    with _ipr(namespace) as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return
        (index,) = found

        present = _addresses(ipr).get(index, [])
        if address and address not in present:
            interface = ipaddress.IPv4Interface(address)
            ipr.addr(
                "add", index=index, address=str(interface.ip), prefixlen=interface.network.prefixlen
            )
            logger.info(
                "Added the address %s to %r in %s.", address, name, commands.where(namespace)
            )
        if not ipr.get_links(index)[0]["flags"] & IFF_UP:
            ipr.link("set", index=index, state="up")
            logger.info("Set %r up in %s.", name, commands.where(namespace))


def _route_pods(settings: NetworkSettings) -> None:
    if not settings.cluster_veth_address:
        return  # the Pods are on the management end's own subnet

    gateway = str(ipaddress.IPv4Interface(settings.cluster_veth_address).ip)
    with _ipr(settings.management_namespace) as ipr:
        found = ipr.link_lookup(ifname=settings.management_veth)
        if not found or _has_route(ipr, ipaddress.IPv4Network(settings.pod_cidr)):
            return  # a route of the same prefix is someone else's choice
        ipr.route("add", dst=settings.pod_cidr, gateway=gateway, oif=found[0])
    logger.info(
        "Routed the Pod CIDR %s via %s on %r in %s.",
        settings.pod_cidr,
        gateway,
        settings.management_veth,
        commands.where(settings.management_namespace),
    )


def _has_route(ipr: IPRoute, network: ipaddress.IPv4Network) -> bool:
    return any(
        route.get("RTA_DST") == str(network.network_address)
        and route["dst_len"] == network.prefixlen
        for route in ipr.get_routes(family=socket.AF_INET, table=RT_TABLE_MAIN)
    )


def _enable_forwarding(settings: NetworkSettings, seen: Survey) -> None:
    wanted = [(seen.management, settings.management_interface)]
    if settings.management_veth:
        wanted.append((seen.management, settings.management_veth))
    if settings.management_veth and settings.cluster_veth_address:
        wanted.append((seen.cluster, settings.cluster_veth))
    if not settings.management_veth and seen.management.pod_route:
        wanted.append((seen.management, seen.management.pod_route))

    for side, name in wanted:
        link = side.links.get(name)
        if link is not None and not link.forwarding:
            commands.enable_forwarding(side.namespace, name)
            logger.info(
                "Enabled IPv4 forwarding on %r in %s.", name, commands.where(side.namespace)
            )
