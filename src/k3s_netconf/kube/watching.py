"""A cache of the plugin's Pods and Deployments and of the Node, kept current by watches.

Each kind of object has a daemon thread that lists it once, then watches from the list's
resourceVersion, and lists again when the server says that version is gone (410) or when a
request fails, waiting a little longer after each failure. ``apps()`` and ``node()`` answer
from memory, so a ``<get>`` costs no request to the API server; ``node().cluster_reachable``
says whether that memory is current.

``stop()`` is prompt: it shuts down the sockets of the open watches instead of waiting for the
server to end them. Only a list request in flight to a server that accepted the connection but
does not answer can keep its (daemon) thread a while longer, up to the request timeout.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from k3s_netconf.kube import failures, manifests, states
from k3s_netconf.kube.connection import read_body, server_address
from k3s_netconf.kube.endpoints import Endpoints
from k3s_netconf.observed import AppState, NodeState, PodState
from k3s_netconf.settings import KubernetesSettings

logger = logging.getLogger(__name__)

# The server ends each watch after this many seconds and the cache resumes from the last
# resourceVersion: long enough to cost nothing, short enough to notice a silent peer.
WATCH_SECONDS = 240

# Waits between attempts while the API server fails: doubled each time up to the maximum.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 15.0

# How long ``stop()`` waits for each thread to end after closing its watch.
STOP_JOIN_SECONDS = 2.0


@dataclass(frozen=True)
class PodChange:
    """A Pod changed phase, restarted or changed where it can be reached; None stands for no
    Pod at all."""

    previous: PodState | None
    current: PodState | None

    @property
    def app(self) -> str:
        pod = self.current or self.previous
        return pod.app if pod is not None else ""

    @property
    def phase_changed(self) -> bool:
        return _phase(self.previous) != _phase(self.current)

    @property
    def restarted(self) -> bool:
        before = self.previous.restart_count if self.previous is not None else 0
        return self.current is not None and self.current.restart_count > before

    @property
    def reach_changed(self) -> bool:
        """Its address, readiness or deletion changed: what decides where traffic may go."""
        return _reach(self.previous) != _reach(self.current)


Subscriber = Callable[[PodChange], None]
# Called with the Deployment before and after a change of its spec; None stands for none.
DeploymentSubscriber = Callable[[states.Deployment | None, states.Deployment | None], None]


class WatchExpired(Exception):
    """The watched resourceVersion is too old: the kind must be listed again."""


@dataclass
class _Kind:
    """One kind of object, listed then watched, and what the cache keeps of each."""

    title: str
    list_call: Callable[..., Any]
    convert: Callable[[states.Raw], Any]
    on_change: Callable[[Any, Any], None] | None = None
    items: dict[str, Any] = field(default_factory=dict)
    synced: bool = False
    failing: bool = False


class WatchCache:
    def __init__(self, api_client: ApiClient, settings: KubernetesSettings) -> None:
        api = Endpoints(api_client)
        namespace = settings.namespace
        selector = manifests.OWNED_SELECTOR

        self._settings = settings
        self._server = server_address(api_client)
        # Re-entrant, so that a predicate of wait_until may call apps() and node().
        self._changed = threading.Condition(threading.RLock())
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[Any] = set()
        self._subscribers: list[Subscriber] = []
        self._deployment_subscribers: list[DeploymentSubscriber] = []
        # Counts the changes of what the cache holds, not of what the server sent (a Node's
        # heartbeat, an Event about a ReplicaSet): who derives state from the cache may keep
        # what it derived for as long as the count stays.
        self.generation = 0

        self._pods = _Kind(
            "Pods",
            lambda timeout, **kw: api.list_pods(namespace, selector, timeout, **kw),
            states.pod_state,
            self._pod_changed,
        )
        self._deployments = _Kind(
            "Deployments",
            lambda timeout, **kw: api.list_deployments(namespace, selector, timeout, **kw),
            states.deployment,
            self._deployment_changed,
        )
        self._nodes = _Kind("Nodes", api.list_nodes, states.node_state)
        self._kinds = (self._pods, self._deployments, self._nodes)

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        for kind in self._kinds:
            kind.synced = False
            thread = threading.Thread(
                target=self._run, args=(kind,), name=f"watch-{kind.title.lower()}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._changed:
            self._stopping.set()
            open_watches = list(self._open)
        for response in open_watches:
            _shut_down(response)

        for thread in self._threads:
            thread.join(STOP_JOIN_SECONDS)
        self._threads = []

    def apps(self) -> dict[str, AppState]:
        """Every app with a Deployment or a Pod in the namespace, by name."""
        with self._changed:
            pods: list[PodState] = list(self._pods.items.values())
            deployments: dict[str, states.Deployment] = dict(self._deployments.items)

        grouped: dict[str, list[PodState]] = {}
        for pod in sorted(pods, key=lambda p: p.name):
            grouped.setdefault(pod.app, []).append(pod)

        names = sorted(set(deployments) | {app for app in grouped if app})
        return {
            name: _app_state(name, deployments.get(name), grouped.get(name, [])) for name in names
        }

    def node(self) -> NodeState:
        """The node (the first by name, on a cluster of several); unreachable until listed."""
        with self._changed:
            nodes: list[tuple[str, NodeState]] = sorted(self._nodes.items.items())
            reachable = self.reachable()

        if not nodes:
            return NodeState(cluster_reachable=reachable)
        return dataclasses.replace(nodes[0][1], cluster_reachable=reachable)

    def reachable(self) -> bool:
        """True while every kind is listed and its watch is running."""
        with self._changed:
            return all(kind.synced and not kind.failing for kind in self._kinds)

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds, tested after every change; False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` on every phase change, restart and change of reach of a Pod.

        Returns an unsubscribe. The callback runs on a watch thread: it must be quick and must
        not wait for the cache. Subscribers that care about one kind of change check it.
        """
        with self._changed:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._changed:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def subscribe_deployments(self, callback: DeploymentSubscriber) -> None:
        """Call ``callback`` when a Deployment appears, goes, or changes replicas or images.

        The callback runs on a watch thread: it must be quick and must not wait for the cache.
        """
        with self._changed:
            self._deployment_subscribers.append(callback)

    def _run(self, kind: _Kind) -> None:
        delay = BACKOFF_FIRST
        while not self._stopping.is_set():
            try:
                version = self._list(kind)
                delay = BACKOFF_FIRST
                while not self._stopping.is_set():
                    version = self._watch(kind, version)
            except WatchExpired:
                logger.debug("The watch of %s expired; listing them again.", kind.title)
            # Any failure, even an unforeseen one, must leave the thread alive: it is the only
            # source of this kind's state. The failure is logged and the list retried.
            except Exception as e:  # noqa: BLE001
                if self._stopping.is_set():
                    return
                if failures.is_gone(e):
                    continue
                self._failed(kind, e)
                self._stopping.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    def _list(self, kind: _Kind) -> str:
        response = kind.list_call(self._settings.request_timeout)
        listed = json.loads(read_body(response))
        items = {item["metadata"]["name"]: kind.convert(item) for item in listed.get("items", [])}

        with self._changed:
            previous, was_synced, was_failing = kind.items, kind.synced, kind.failing
            kind.items, kind.synced, kind.failing = items, True, False
            if items != previous:
                self.generation += 1

        if was_failing:
            logger.info("Watching the %s at %s again.", kind.title, self._server)
        # What changed while the watch was down is reported as if it had been watched.
        if was_synced and kind.on_change is not None:
            for name in sorted(set(previous) | set(items)):
                kind.on_change(previous.get(name), items.get(name))
        self._notify()
        return str(listed["metadata"]["resourceVersion"])

    def _watch(self, kind: _Kind, version: str) -> str:
        response = kind.list_call(
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            # The read timeout outlasts the server's own end of the watch.
            timeout=(
                self._settings.request_timeout,
                WATCH_SECONDS + self._settings.request_timeout,
            ),
        )
        self._track(response)
        try:
            for event in _events(response):
                version = self._record(kind, event, version)
                if self._stopping.is_set():
                    break
        finally:
            self._untrack(response)
        return version

    def _record(self, kind: _Kind, event: states.Raw, version: str) -> str:
        kind_of_event = event.get("type")
        obj = event.get("object") or {}
        if kind_of_event == "ERROR":
            raise _watch_error(obj)

        new_version = str(obj.get("metadata", {}).get("resourceVersion") or version)
        if kind_of_event == "BOOKMARK":
            return new_version

        name = obj["metadata"]["name"]
        current = None if kind_of_event == "DELETED" else kind.convert(obj)
        with self._changed:
            previous = kind.items.pop(name, None)
            if current is not None:
                kind.items[name] = current
            if current != previous:
                self.generation += 1

        if kind.on_change is not None:
            kind.on_change(previous, current)
        self._notify()
        return new_version

    def _notify(self) -> None:
        # Waiters wake only after the subscribers heard of the change: whoever waited for a
        # state may rely on its notification having been sent.
        with self._changed:
            self._changed.notify_all()

    def _failed(self, kind: _Kind, e: Exception) -> None:
        with self._changed:
            first = not kind.failing
            kind.failing = True
            self._changed.notify_all()

        if not isinstance(e, failures.CLIENT_ERRORS):
            logger.exception("Watching the %s failed unexpectedly; retrying.", kind.title)
            return
        reason = failures.translate(e, self._server, f"watching the {kind.title}").message
        if first:
            logger.warning("Cannot watch the %s: %s; retrying.", kind.title, reason)
        else:
            logger.debug("Still cannot watch the %s: %s.", kind.title, reason)

    def _pod_changed(self, previous: PodState | None, current: PodState | None) -> None:
        change = PodChange(previous, current)
        if not (change.phase_changed or change.restarted or change.reach_changed):
            return

        with self._changed:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(change)
            except Exception:
                # A subscriber's failure must not end the watch that feeds every other one.
                logger.exception("A subscriber to Pod changes failed.")

    def _deployment_changed(
        self, previous: states.Deployment | None, current: states.Deployment | None
    ) -> None:
        # Status changes (ready replicas) are the cluster's own doing, not a change of spec.
        if _spec(previous) == _spec(current):
            return

        with self._changed:
            subscribers = list(self._deployment_subscribers)
        for callback in subscribers:
            try:
                callback(previous, current)
            except Exception:
                logger.exception("A subscriber to Deployment changes failed.")

    def _track(self, response: Any) -> None:
        with self._changed:
            if self._stopping.is_set():
                _shut_down(response)
            self._open.add(response)

    def _untrack(self, response: Any) -> None:
        with self._changed:
            self._open.discard(response)
        response.close()
        response.release_conn()


def _events(response: Any) -> Iterator[states.Raw]:
    for line in response:
        if line.strip():
            yield json.loads(line)


def _watch_error(status: states.Raw) -> Exception:
    if status.get("code") == failures.GONE:
        return WatchExpired(status.get("message", ""))
    return ApiException(status=status.get("code"), reason=status.get("message"))


def _app_state(name: str, replicas: states.Deployment | None, pods: list[PodState]) -> AppState:
    return AppState(
        name=name,
        desired_replicas=replicas.desired if replicas is not None else None,
        ready_replicas=replicas.ready if replicas is not None else None,
        pods=tuple(pods),
    )


def _spec(deployment: states.Deployment | None) -> tuple[int | None, tuple[str, ...]] | None:
    return (deployment.desired, deployment.images) if deployment is not None else None


def _phase(pod: PodState | None) -> str | None:
    return pod.phase if pod is not None else None


def _reach(pod: PodState | None) -> tuple[str | None, bool, bool] | None:
    return (pod.pod_ip, pod.ready, pod.deleting) if pod is not None else None


def _shut_down(response: Any) -> None:
    # Shutting the socket down wakes the thread blocked reading it; the response may already
    # be closed by that thread, which is as good.
    try:
        response.shutdown()
    except (OSError, ValueError, RuntimeError):
        pass
