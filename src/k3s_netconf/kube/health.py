"""The watch cache with the namespace's Events too, and the apps joined with use and health.

Events are listed then watched like Pods, in the plugin's namespace only. Kubernetes drops
them after an hour itself; get shows the most recent few of each app.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from kubernetes.client import ApiClient

from k3s_netconf.desired import App
from k3s_netconf.kube import states
from k3s_netconf.kube.endpoints import Endpoints, Timeout, _part, _watch_query
from k3s_netconf.kube.usage import Usage
from k3s_netconf.kube.watching import WatchCache, _Kind
from k3s_netconf.observed import AppState, Event, Health, NodeState, PodState
from k3s_netconf.settings import KubernetesSettings

# The reason the kubelet gives the event of a failed probe.
UNHEALTHY = "Unhealthy"


class EventEndpoints(Endpoints):
    def list_events(self, namespace: str, timeout: Timeout, **watch: Any) -> Any:
        path = f"/api/v1/namespaces/{_part(namespace)}/events"
        return self._send("GET", path, _watch_query(**watch), timeout)


class HealthWatchCache(WatchCache):
    """``WatchCache`` that also keeps the Events of the namespace's Pods."""

    def __init__(
        self, api_client: ApiClient, settings: KubernetesSettings, events_per_app: int
    ) -> None:
        super().__init__(api_client, settings)
        api = EventEndpoints(api_client)
        namespace = settings.namespace
        self._events_per_app = events_per_app
        self._event_kind = _Kind(
            "Events",
            lambda timeout, **kw: api.list_events(namespace, timeout, **kw),
            pod_event,
        )
        self._kinds = (*self._kinds, self._event_kind)
        self.heard_at: float | None = None

    def _notify(self) -> None:
        # When the cache last heard of a change, on the monotonic clock: its age for metrics.
        self.heard_at = time.monotonic()
        super()._notify()

    def events(self) -> list[Event]:
        with self._changed:
            return [e for e in self._event_kind.items.values() if e is not None]


def pod_event(raw: states.Raw) -> Event | None:
    """An Event about a Pod; None for events about other objects."""
    involved = raw.get("involvedObject", {})
    if involved.get("kind") != "Pod":
        return None

    pod = str(involved.get("name", ""))
    seen = raw.get("lastTimestamp") or raw.get("eventTime") or raw.get("firstTimestamp")
    return Event(
        name=raw["metadata"]["name"],
        pod=pod,
        app=_app_of_pod(pod),
        type=raw.get("type"),
        reason=raw.get("reason"),
        message=raw.get("message"),
        count=raw.get("count") or (raw.get("series") or {}).get("count") or 1,
        last_seen=states.timestamp(seen),
    )


def _app_of_pod(pod: str) -> str:
    # A Deployment's Pods are named <deployment>-<replicaset hash>-<suffix>.
    parts = pod.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else pod


def joined(
    apps: dict[str, AppState], usage: Usage, events: list[Event], per_app: int
) -> dict[str, AppState]:
    """The apps with their Pods' CPU and memory use, the totals and their health."""
    by_app: dict[str, list[Event]] = {}
    for event in sorted(events, key=_recency, reverse=True):
        by_app.setdefault(event.app, []).append(event)
    return {
        name: _joined(state, usage, by_app.get(name, []), per_app) for name, state in apps.items()
    }


def _joined(state: AppState, usage: Usage, events: list[Event], per_app: int) -> AppState:
    pods = tuple(_with_usage(pod, usage) for pod in state.pods)
    figures = [usage.pods[p.name] for p in pods if p.name in usage.pods]
    return dataclasses.replace(
        state,
        pods=pods,
        cpu_usage=sum(cpu for cpu, _ in figures) if figures else None,
        memory_usage=sum(memory for _, memory in figures) if figures else None,
        health=health(pods, events, per_app),
    )


def _with_usage(pod: PodState, usage: Usage) -> PodState:
    figures = usage.pods.get(pod.name)
    if figures is None:
        return pod
    return dataclasses.replace(pod, cpu_usage=figures[0], memory_usage=figures[1])


def health(pods: tuple[PodState, ...], events: list[Event], per_app: int) -> Health:
    """Probe results from the Pods' readiness and the kubelet's Unhealthy events."""
    live = [p for p in pods if not p.deleting]
    probe_failures = [e for e in events if e.reason == UNHEALTHY]
    last = probe_failures[0] if probe_failures else None

    return Health(
        readiness=("passing" if all(p.ready for p in live) else "failing") if live else None,
        liveness=_liveness(live, probe_failures) if live else None,
        last_probe_failure=last.message if last else None,
        last_probe_failure_at=last.last_seen if last else None,
        events=tuple(events[:per_app]),
    )


def _liveness(pods: list[PodState], probe_failures: list[Event]) -> str:
    # A liveness failure counts until the container it killed was started again after it.
    for pod in pods:
        started = pod.container.started_at
        for event in probe_failures:
            about_liveness = event.pod == pod.name and "Liveness" in (event.message or "")
            after_start = started is None or (event.last_seen or started) >= started
            if about_liveness and after_start:
                return "failing"
    return "passing"


def configured_probes(state: AppState | None, app: App | None) -> AppState | None:
    """The state with "none" for a probe the app does not configure."""
    if state is None or state.health is None or app is None:
        return state
    probes = dataclasses.replace(
        state.health,
        liveness=state.health.liveness if app.liveness_probe else "none",
        readiness=state.health.readiness if app.readiness_probe else "none",
    )
    return dataclasses.replace(state, health=probes)


def node_with_usage(node: NodeState, usage: Usage) -> NodeState:
    return dataclasses.replace(node, in_use_cpu=usage.node_cpu, in_use_memory=usage.node_memory)


def _recency(event: Event) -> tuple[str, str]:
    return (event.last_seen.isoformat() if event.last_seen else "", event.name)
