"""Observed state as the model's ``config false`` nodes, joined to the config for get.

Each function builds its node under the entry it belongs to: an element made on its own and
appended afterwards is moved between documents and its namespaces reconciled, which cost more
than building it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from lxml import etree

from k3s_netconf import observed
from k3s_netconf.schema import APPS_NS

_NSMAP = {None: APPS_NS}


def app_state(parent: etree._Element, state: observed.AppState | None) -> etree._Element:
    element = _element(parent, "state")
    if state is None:
        return element
    _leaf(element, "desired-replicas", state.desired_replicas)
    _leaf(element, "ready-replicas", state.ready_replicas)
    for pod in state.pods:
        _pod(element, pod)
    _leaf(element, "cpu-usage", state.cpu_usage)
    _leaf(element, "memory-usage", state.memory_usage)
    if state.health is not None:
        _health(element, state.health)
    return element


def _health(parent: etree._Element, health: observed.Health) -> None:
    element = etree.SubElement(parent, _tag("health"))
    _leaf(element, "readiness", health.readiness)
    _leaf(element, "liveness", health.liveness)
    _leaf(element, "last-probe-failure", health.last_probe_failure)
    _leaf(element, "last-probe-failure-at", health.last_probe_failure_at)
    for event in health.events:
        entry = etree.SubElement(element, _tag("event"))
        _leaf(entry, "name", event.name)
        _leaf(entry, "pod", event.pod)
        _leaf(entry, "type", event.type)
        _leaf(entry, "reason", event.reason)
        _leaf(entry, "message", event.message)
        _leaf(entry, "count", event.count)
        _leaf(entry, "last-seen", event.last_seen)


def _pod(parent: etree._Element, pod: observed.PodState) -> etree._Element:
    element = _element(parent, "pod")
    _leaf(element, "name", pod.name)
    _leaf(element, "phase", pod.phase)
    _leaf(element, "pod-ip", pod.pod_ip)
    _leaf(element, "node", pod.node)
    _leaf(element, "start-time", pod.start_time)
    _leaf(element, "ready", pod.ready)
    _leaf(element, "restart-count", pod.restart_count)

    container = etree.SubElement(element, _tag("container"))
    _leaf(container, "state", pod.container.state)
    _leaf(container, "reason", pod.container.reason)
    _leaf(container, "message", pod.container.message)
    _leaf(container, "exit-code", pod.container.exit_code)
    _leaf(container, "started-at", pod.container.started_at)

    if pod.last_termination is not None:
        last = etree.SubElement(element, _tag("last-termination"))
        _leaf(last, "reason", pod.last_termination.reason)
        _leaf(last, "exit-code", pod.last_termination.exit_code)
        _leaf(last, "finished-at", pod.last_termination.finished_at)

    _leaf(element, "cpu-usage", pod.cpu_usage)
    _leaf(element, "memory-usage", pod.memory_usage)
    return element


def image_state(
    parent: etree._Element,
    present: bool | None,
    digest: str | None,
    size: int | None,
    imported_at: datetime | None,
    last_error: str | None,
) -> etree._Element:
    element = _element(parent, "state")
    _leaf(element, "present", present)
    _leaf(element, "digest", digest)
    _leaf(element, "size", size)
    _leaf(element, "imported-at", imported_at)
    _leaf(element, "last-error", last_error)
    return element


def rule_state(parent: etree._Element, state: observed.RuleState) -> etree._Element:
    element = _element(parent, "state")
    _leaf(element, "target-address", state.target_address)
    _leaf(element, "target-port", state.target_port)
    _leaf(element, "active", state.active)
    _leaf(element, "packets", state.packets)
    _leaf(element, "bytes", state.bytes)
    return element


def forwarding_state(parent: etree._Element, state: observed.ForwardingState) -> etree._Element:
    element = _element(parent, "state")
    _leaf(element, "management-address", state.management_address)
    _leaf(element, "table-installed", state.table_installed)
    for problem in state.problems:
        _leaf(element, "problem", problem)
    return element


def node_state(
    parent: etree._Element, node: observed.NodeState, requested: Mapping[str, int]
) -> etree._Element:
    element = _element(parent, "node")
    _leaf(element, "name", node.name)
    _leaf(element, "cluster-reachable", node.cluster_reachable)
    _leaf(element, "kubernetes-version", node.kubernetes_version)
    _leaf(element, "ready", node.ready)

    allocatable = etree.SubElement(element, _tag("allocatable"))
    _leaf(allocatable, "cpu", node.allocatable_cpu)
    _leaf(allocatable, "memory", node.allocatable_memory)
    _leaf(allocatable, "ephemeral-storage", node.allocatable_ephemeral_storage)

    wanted = etree.SubElement(element, _tag("requested"))
    _leaf(wanted, "cpu", requested.get("cpu"))
    _leaf(wanted, "memory", requested.get("memory"))

    if node.in_use_cpu is not None or node.in_use_memory is not None:
        in_use = etree.SubElement(element, _tag("in-use"))
        _leaf(in_use, "cpu", node.in_use_cpu)
        _leaf(in_use, "memory", node.in_use_memory)
    return element


def _element(parent: etree._Element, name: str) -> etree._Element:
    # The namespace is declared only where the parent's default namespace is another one.
    nsmap = None if parent.nsmap.get(None) == APPS_NS else _NSMAP
    return etree.SubElement(parent, _tag(name), nsmap=nsmap)


def _tag(name: str) -> str:
    return f"{{{APPS_NS}}}{name}"


def _leaf(parent: etree._Element, name: str, value: object) -> None:
    if value is None:
        return
    etree.SubElement(parent, _tag(name)).text = _text(value)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)
