"""The configuration as typed values: what should run, free of XML and of Kubernetes.

The datastore turns its validated tree into these values; the planner compares two of them;
the Kubernetes, image and network layers read them. Defaults of the YANG model are already
filled in here, so no layer below needs to know the model's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Image:
    name: str
    archive: str
    sha256: str | None = None


@dataclass(frozen=True)
class Port:
    name: str
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class Resources:
    cpu_request: int | None = None  # millicores
    cpu_limit: int | None = None  # millicores
    memory_request: int | None = None  # bytes
    memory_limit: int | None = None  # bytes
    ephemeral_storage_limit: int | None = None  # bytes


@dataclass(frozen=True)
class Volume:
    name: str
    host_path: str
    mount_path: str
    read_only: bool = False


@dataclass(frozen=True)
class Probe:
    """Exactly one of ``tcp_port``, ``http_port`` (with ``http_path``) and ``exec_command``."""

    tcp_port: int | None = None
    http_port: int | None = None
    http_path: str = "/"
    exec_command: tuple[str, ...] = ()
    initial_delay: int = 0  # seconds
    period: int = 10  # seconds
    timeout: int = 1  # seconds
    failure_threshold: int = 3


@dataclass(frozen=True)
class App:
    name: str
    image: str
    enabled: bool = True
    replicas: int = 1
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    ports: tuple[Port, ...] = ()
    resources: Resources = field(default_factory=Resources)
    volumes: tuple[Volume, ...] = ()
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    termination_grace_period: int = 30  # seconds

    @property
    def running_replicas(self) -> int:
        """The Pods that should run: none while the app is disabled."""
        return self.replicas if self.enabled else 0

    def port(self, name: str) -> Port | None:
        return next((p for p in self.ports if p.name == name), None)


@dataclass(frozen=True)
class ForwardRule:
    protocol: str
    external_port: int
    app: str
    port: str


@dataclass(frozen=True)
class Forward:
    """A forwarding rule with its app's port looked up: what the forwarding table is made of."""

    protocol: str
    external_port: int
    app: str
    port: str
    container_port: int


@dataclass(frozen=True)
class Config:
    """The whole configuration, each list keyed as in the model."""

    images: dict[str, Image] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    rules: dict[tuple[str, int], ForwardRule] = field(default_factory=dict)

    def forwards(self) -> tuple[Forward, ...]:
        """Every rule with its container port, in key order.

        The model's leafrefs guarantee the app and port exist in a validated configuration;
        a rule that lacks them anyway has nothing to forward to and is left out.
        """
        found = []
        for key in sorted(self.rules):
            rule = self.rules[key]
            app = self.apps.get(rule.app)
            port = app.port(rule.port) if app is not None else None
            if port is not None:
                found.append(
                    Forward(
                        rule.protocol, rule.external_port, rule.app, rule.port, port.container_port
                    )
                )
        return tuple(found)
