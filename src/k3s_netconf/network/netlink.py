"""The links between the management namespace and the Pods: surveyed and completed.

``survey`` reads with pyroute2 what each namespace has (links, IPv4 addresses, IPv4
forwarding per link, and which link the Pod CIDR is routed out of), for ``links.check`` to
compare with the settings. ``complete`` creates what is missing when the settings ask for it:
the veth pair, its addresses, the route to the Pods and IPv4 forwarding on the links that
carry the forwarded traffic. Namespaces belong to the network operating system and are never
created (pyroute2 is told not to).

The pyroute2 package imports all of itself whichever part is asked for (some 24 MB of
resident memory), so this module is imported only when there is something to survey.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import socket
from collections.abc import Mapping
from typing import Any

from pyroute2 import IPRoute  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from k3s_netconf.network import commands
from k3s_netconf.network.links import Link, Side, Survey
from k3s_netconf.settings import NetworkSettings

logger = logging.getLogger(__name__)

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTN_LOCAL = 2
# How many of the Pod CIDR's first addresses are tried to find where Pod traffic goes.
ROUTE_PROBES = 4


class CreateFailed(Exception):
    """A missing link, address, route or setting could not be created."""


def survey(settings: NetworkSettings) -> Survey:
    management = _side(settings.management_namespace, settings.pod_cidr)
    if settings.cluster_namespace == settings.management_namespace:
        return Survey(management, management)
    return Survey(management, _side(settings.cluster_namespace, settings.pod_cidr))


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
