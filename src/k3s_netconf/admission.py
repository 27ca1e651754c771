"""Admission of a configuration against what the node can spare, before anything is applied.

The network OS shares the node with the apps and must never be starved: the apps together may
request no more than the node's allocatable CPU and memory minus a reserve kept for it. Only a
commit that raises a total is checked, so a configuration that fitted when it was made stays
editable when the node's allocatable shrinks later. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from k3s_netconf import desired, errors, paths
from k3s_netconf.observed import NodeState
from k3s_netconf.settings import ResourceSettings


@dataclass(frozen=True)
class _Resource:
    title: str
    unit: str
    allocatable: int | None
    reserve: int


def check(
    old: desired.Config, new: desired.Config, node: NodeState, resources: ResourceSettings
) -> None:
    """Raise ``ResourceDenied`` when ``new`` requests more than the node can spare."""
    kinds = {
        "cpu": _Resource("CPU", "millicores", node.allocatable_cpu, resources.reserve_cpu),
        "memory": _Resource("memory", "bytes", node.allocatable_memory, resources.reserve_memory),
    }
    for key, kind in kinds.items():
        # Unknown while the node was never seen: the commit then fails on reaching the cluster.
        if kind.allocatable is None:
            continue
        asked, before = requested(new, key), requested(old, key)
        spare = max(kind.allocatable - kind.reserve, 0)
        if asked > spare and asked > before:
            raise _refusal(kind, asked, spare, _culprit(old, new, key))


def requested(config: desired.Config, key: str) -> int:
    """What the apps of ``config`` request of ``key`` ("cpu" or "memory") for their replicas."""
    return sum(_app_request(app, key) for app in config.apps.values())


def _app_request(app: desired.App, key: str) -> int:
    each = app.resources.cpu_request if key == "cpu" else app.resources.memory_request
    return (each or 0) * app.running_replicas


def _culprit(old: desired.Config, new: desired.Config, key: str) -> str:
    # The app whose request grew the most is the one the operator will want to look at.
    def growth(name: str) -> int:
        before = old.apps.get(name)
        return _app_request(new.apps[name], key) - (_app_request(before, key) if before else 0)

    return max(sorted(new.apps), key=growth)


def _refusal(kind: _Resource, asked: int, spare: int, app: str) -> errors.ResourceDenied:
    return errors.ResourceDenied(
        f"the apps would request {asked} {kind.unit} of {kind.title} in total, but the node "
        f"can spare {spare} {kind.unit} ({kind.allocatable} allocatable less {kind.reserve} "
        f"reserved for the network OS); app {app!r} asks for "
        f"more: lower its {kind.title} request or replicas, or disable another app",
        path=paths.app(app),
    )
