"""Kubernetes objects, as the API server sends them, turned into observed values.

The input is the JSON of a Pod, Deployment or Node (a dict); the output a frozen value of
``observed``. Absent facts stay ``None``: a Pod that was not scheduled yet has no node, a
container that never ended has no last termination.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from kubernetes.utils import parse_quantity

from k3s_netconf.kube.manifests import NAME_LABEL
from k3s_netconf.observed import ContainerState, NodeState, PodState, Termination

Raw = dict[str, Any]


class Replicas(NamedTuple):
    desired: int | None
    ready: int


def pod_state(pod: Raw) -> PodState:
    meta = pod.get("metadata", {})
    status = pod.get("status", {})
    app = meta.get("labels", {}).get(NAME_LABEL, "")
    container = app_container_status(status, app)

    return PodState(
        name=meta["name"],
        app=app,
        phase=status.get("phase"),
        pod_ip=status.get("podIP") or None,
        node=pod.get("spec", {}).get("nodeName"),
        start_time=timestamp(status.get("startTime")),
        ready=condition(status, "Ready"),
        restart_count=int(container.get("restartCount", 0)),
        container=container_state(container.get("state")),
        last_termination=termination(container.get("lastState", {}).get("terminated")),
        deleting="deletionTimestamp" in meta,
    )


def app_container_status(status: Raw, app: str) -> Raw:
    """The status of the app's container (named after the app), else of the first one."""
    statuses: list[Raw] = status.get("containerStatuses") or []
    named = [s for s in statuses if s.get("name") == app]
    return (named or statuses or [{}])[0]


def container_state(state: Raw | None) -> ContainerState:
    # The API sets exactly one of the three keys; none before the runtime reported anything.
    for kind in ("waiting", "running", "terminated"):
        details = (state or {}).get(kind)
        if details is not None:
            return ContainerState(
                state=kind,
                reason=details.get("reason"),
                message=details.get("message"),
                exit_code=details.get("exitCode"),
                started_at=timestamp(details.get("startedAt")),
            )
    return ContainerState()


def termination(terminated: Raw | None) -> Termination | None:
    if terminated is None:
        return None
    return Termination(
        reason=terminated.get("reason"),
        exit_code=terminated.get("exitCode"),
        finished_at=timestamp(terminated.get("finishedAt")),
    )


def replicas(deployment: Raw) -> Replicas:
    spec = deployment.get("spec", {})
    status = deployment.get("status", {})
    return Replicas(desired=spec.get("replicas"), ready=int(status.get("readyReplicas") or 0))


class Deployment(NamedTuple):
    """What the watch cache keeps of a Deployment: its replicas and what a repair compares."""

    name: str
    desired: int | None
    ready: int
    images: tuple[str, ...]


def deployment(raw: Raw) -> Deployment:
    counted = replicas(raw)
    containers = raw.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    return Deployment(
        name=raw.get("metadata", {}).get("name", ""),
        desired=counted.desired,
        ready=counted.ready,
        images=tuple(c.get("image", "") for c in containers),
    )


def node_state(node: Raw) -> NodeState:
    status = node.get("status", {})
    allocatable = status.get("allocatable", {})

    return NodeState(
        name=node.get("metadata", {}).get("name"),
        cluster_reachable=True,
        kubernetes_version=status.get("nodeInfo", {}).get("kubeletVersion"),
        ready=condition(status, "Ready"),
        allocatable_cpu=quantity(allocatable.get("cpu"), scale=1000),
        allocatable_memory=quantity(allocatable.get("memory")),
        allocatable_ephemeral_storage=quantity(allocatable.get("ephemeral-storage")),
    )


def condition(status: Raw, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or []
    )


def quantity(text: str | None, scale: int = 1) -> int | None:
    """A Kubernetes quantity ("3800m", "16Gi") as an integer: CPU in millicores with scale 1000."""
    if text is None:
        return None
    return int(parse_quantity(text) * scale)  # type: ignore[no-untyped-call]


def timestamp(text: str | None) -> datetime | None:
    """An RFC 3339 time of the API ("2026-12-03T16:20:12Z") as an aware datetime."""
    return datetime.fromisoformat(text) if text else None
