"""Which Pod each rule forwards to, from what the watch cache observed.

A rule forwards to one Pod of its app: the first by name that runs, is ready and not being
deleted, and has an IPv4 address (the table is IPv4). Ready matters for the same reason a
Kubernetes Service waits for it: a Pod whose readiness probe fails should get no traffic.
An app without such a Pod leaves its rule inactive until one appears.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from k3s_netconf import desired
from k3s_netconf.network.tables import Entry, Target
from k3s_netconf.observed import AppState, PodState


def entries(forwards: Sequence[desired.Forward], apps: Mapping[str, AppState]) -> tuple[Entry, ...]:
    return tuple(Entry(f, target(f, apps.get(f.app))) for f in forwards)


def target(forward: desired.Forward, app: AppState | None) -> Target | None:
    pods = sorted((p for p in (app.pods if app else ()) if _serving(p)), key=lambda p: p.name)
    if not pods:
        return None
    return Target(str(pods[0].pod_ip), forward.container_port)


def _serving(pod: PodState) -> bool:
    return pod.phase == "Running" and pod.ready and not pod.deleting and _ipv4(pod.pod_ip)


def _ipv4(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).version == 4
    except ValueError:
        return False
