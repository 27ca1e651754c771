"""The link to the Kubernetes cluster: one API client, the workloads and the watch cache.

The daemon must start and serve its datastore while the API server is away (K3s may start
after it, or restart). So nothing here connects eagerly: the client is made on first use and
the namespace is made sure of once, the first time a change needs it; until then get
reports the cluster as unreachable.
"""

from __future__ import annotations

import logging
import threading

from kubernetes import client

from k3s_netconf import errors
from k3s_netconf.kube import health
from k3s_netconf.kube.connection import connect
from k3s_netconf.kube.health import HealthWatchCache
from k3s_netconf.kube.usage import Usage, UsagePoller
from k3s_netconf.kube.watching import DeploymentSubscriber, Subscriber
from k3s_netconf.kube.workloads import Workloads
from k3s_netconf.observed import AppState, NodeState
from k3s_netconf.settings import KubernetesSettings, ResourceSettings

logger = logging.getLogger(__name__)


class Cluster:
    def __init__(
        self, settings: KubernetesSettings, resources: ResourceSettings | None = None
    ) -> None:
        self.settings = settings
        self.resources = resources or ResourceSettings()
        self._guard = threading.Lock()
        self._api_client: client.ApiClient | None = None
        self._workloads: Workloads | None = None
        self._namespace_ready = False
        self._cache: HealthWatchCache | None = None
        self._usage: UsagePoller | None = None
        self._subscribers: list[Subscriber] = []
        self._deployment_subscribers: list[DeploymentSubscriber] = []
        # The last app states worked out, with the cache generation and usage sample they
        # were worked out from.
        self._app_states: tuple[int, Usage, dict[str, AppState]] | None = None

    def start(self) -> None:
        """Start watching the cluster; without a usable kubeconfig yet, ``watch`` is retried."""
        try:
            self.watch()
        except errors.NetconfError as e:
            logger.warning("Cannot watch the cluster yet: %s", e.message)

    def watch(self) -> None:
        """Start the watch cache unless it runs; raises when no API client can be made."""
        with self._guard:
            if self._cache is not None:
                return
            api_client = self._client_locked()
            self._cache = HealthWatchCache(api_client, self.settings, self.resources.events_per_app)
            self._usage = UsagePoller(
                api_client, self.settings, self.resources.usage_interval, self._node_name
            )
            for callback in self._subscribers:
                self._cache.subscribe(callback)
            for watcher in self._deployment_subscribers:
                self._cache.subscribe_deployments(watcher)
        self._cache.start()
        self._usage.start()

    def subscribe(self, callback: Subscriber) -> None:
        """Hear of Pod changes from the watch cache, whenever it starts."""
        with self._guard:
            self._subscribers.append(callback)
            if self._cache is not None:
                self._cache.subscribe(callback)

    def subscribe_deployments(self, callback: DeploymentSubscriber) -> None:
        """Hear of changes to the spec of owned Deployments, whenever the watch cache starts."""
        with self._guard:
            self._deployment_subscribers.append(callback)
            if self._cache is not None:
                self._cache.subscribe_deployments(callback)

    def stop(self) -> None:
        if self._usage is not None:
            self._usage.stop()
        if self._cache is not None:
            self._cache.stop()

    def workloads(self) -> Workloads:
        """The workloads API, with the plugin's namespace made sure of."""
        with self._guard:
            if self._workloads is None:
                self._workloads = Workloads(self._client_locked(), self.settings)
            if not self._namespace_ready:
                self._workloads.ensure_namespace()
                self._namespace_ready = True
            return self._workloads

    def app_states(self) -> dict[str, AppState]:
        """Every app as observed, with its resource use and health.

        Worked out again only after the watch cache changed or a new usage sample came: every
        get and every pass of forwarding asks, and callers share the answer, unchanged.
        """
        cache = self._cache
        if cache is None:
            return {}

        # Read before what they stand for: a change meanwhile only makes the next call redo it.
        generation, usage = cache.generation, self.usage()
        known = self._app_states
        if known is not None and known[0] == generation and known[1] is usage:
            return known[2]

        states = health.joined(cache.apps(), usage, cache.events(), self.resources.events_per_app)
        if known is not None:
            # An app whose state is as before keeps the same object: what get rendered of it
            # is still good, and identity tells so at once.
            before = known[2]
            states = {name: _same_or(before.get(name), state) for name, state in states.items()}
        self._app_states = (generation, usage, states)
        return states

    def node_state(self) -> NodeState:
        if self._cache is None:
            return NodeState()
        return health.node_with_usage(self._cache.node(), self.usage())

    def usage(self) -> Usage:
        """The last sample of CPU and memory use; empty until one was taken."""
        return self._usage.usage() if self._usage is not None else Usage()

    def _node_name(self) -> str | None:
        return self._cache.node().name if self._cache is not None else None

    def current(self) -> bool:
        """Whether ``app_states`` is known to be up to date: the cache is listed and watching."""
        return self._cache is not None and self._cache.reachable()

    @property
    def cache(self) -> HealthWatchCache | None:
        return self._cache

    def _client_locked(self) -> client.ApiClient:
        if self._api_client is None:
            self._api_client = connect(self.settings)
        return self._api_client


def _same_or(before: AppState | None, now: AppState) -> AppState:
    return before if before == now else now
