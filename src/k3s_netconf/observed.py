"""What the plugin observes in the cluster, the image store and the network, as typed values.

The watch cache, the image store and the NAT table produce these; ``<get>`` renders them as
the model's state nodes. Times are timezone-aware datetimes; absent facts are ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Termination:
    reason: str | None = None
    exit_code: int | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class ContainerState:
    state: str | None = None  # "waiting", "running" or "terminated"
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class PodState:
    name: str
    app: str
    phase: str | None = None
    pod_ip: str | None = None
    node: str | None = None
    start_time: datetime | None = None
    ready: bool = False
    restart_count: int = 0
    container: ContainerState = field(default_factory=ContainerState)
    last_termination: Termination | None = None
    cpu_usage: int | None = None  # millicores
    memory_usage: int | None = None  # bytes
    deleting: bool = False


@dataclass(frozen=True)
class Event:
    """A Kubernetes event about one of an app's Pods."""

    name: str
    pod: str
    app: str
    type: str | None = None
    reason: str | None = None
    message: str | None = None
    count: int | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class Health:
    """An app's probe results ("passing", "failing", "none") and its recent events."""

    readiness: str | None = None
    liveness: str | None = None
    last_probe_failure: str | None = None
    last_probe_failure_at: datetime | None = None
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class AppState:
    name: str
    desired_replicas: int | None = None
    ready_replicas: int | None = None
    pods: tuple[PodState, ...] = ()
    cpu_usage: int | None = None  # millicores, all Pods
    memory_usage: int | None = None  # bytes, all Pods
    health: Health | None = None


@dataclass(frozen=True)
class NodeState:
    name: str | None = None
    cluster_reachable: bool = False
    kubernetes_version: str | None = None
    ready: bool | None = None
    allocatable_cpu: int | None = None  # millicores
    allocatable_memory: int | None = None  # bytes
    allocatable_ephemeral_storage: int | None = None  # bytes
    in_use_cpu: int | None = None  # millicores
    in_use_memory: int | None = None  # bytes


@dataclass(frozen=True)
class RuleState:
    """A forwarding rule as the installed table has it; inactive rules have no target."""

    target_address: str | None = None
    target_port: int | None = None
    active: bool = False
    packets: int | None = None
    bytes: int | None = None


@dataclass(frozen=True)
class ForwardingState:
    """Whether port forwarding can work: the address it listens on and what stands in its way."""

    management_address: str | None = None
    table_installed: bool = False
    problems: tuple[str, ...] = ()
