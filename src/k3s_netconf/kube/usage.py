"""CPU and memory in use by the plugin's Pods and by the node, sampled in the background.

The metrics API (``metrics.k8s.io``, served by metrics-server as K3s ships it) answers when it
is installed; otherwise the kubelet's summary API, reached through the API server's node
proxy, has the same figures. Either is read by one thread at a bounded interval, never per
get: a get reads the last sample from memory.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from k3s_netconf.kube import failures, states
from k3s_netconf.kube.connection import read_body
from k3s_netconf.kube.endpoints import Endpoints, Timeout, _part
from k3s_netconf.settings import KubernetesSettings

logger = logging.getLogger(__name__)

METRICS_API = "/apis/metrics.k8s.io/v1beta1"

# A sample never waits less than this, whatever the settings say: the kubelet itself
# refreshes its figures only every ~10 s.
MIN_INTERVAL = 1.0


@dataclass(frozen=True)
class Usage:
    """One sample: per Pod name (CPU millicores, memory bytes), and the node's own."""

    pods: dict[str, tuple[int, int]] = field(default_factory=dict)
    node_cpu: int | None = None
    node_memory: int | None = None
    source: str | None = None  # "metrics-api" or "summary"


class UsageEndpoints(Endpoints):
    """The two sources of usage figures, beside the requests of ``Endpoints``."""

    def pod_metrics(self, namespace: str, timeout: Timeout) -> Any:
        path = f"{METRICS_API}/namespaces/{_part(namespace)}/pods"
        return self._send("GET", path, [], timeout)

    def node_metrics(self, node: str, timeout: Timeout) -> Any:
        return self._send("GET", f"{METRICS_API}/nodes/{_part(node)}", [], timeout)

    def node_summary(self, node: str, timeout: Timeout) -> Any:
        return self._send("GET", f"/api/v1/nodes/{_part(node)}/proxy/stats/summary", [], timeout)


class UsagePoller:
    def __init__(
        self,
        api_client: ApiClient,
        settings: KubernetesSettings,
        interval: float,
        node_name: Callable[[], str | None],
    ) -> None:
        self._api = UsageEndpoints(api_client)
        self._settings = settings
        self._interval = max(interval, MIN_INTERVAL)
        self._node_name = node_name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._usage = Usage()
        self._metrics_api = True
        self._failing = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="usage", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self._settings.request_timeout)
            self._thread = None

    def usage(self) -> Usage:
        return self._usage

    def _run(self) -> None:
        while not self._stopping.is_set():
            node = self._node_name()
            if node:
                self._sample_logged(node)
            self._stopping.wait(self._interval if node else MIN_INTERVAL)

    def _sample_logged(self, node: str) -> None:
        try:
            self._usage = self.sample(node)
        except (*failures.CLIENT_ERRORS, ValueError, KeyError) as e:
            # The last sample stays: figures a few intervals old beat none.
            reason = _reason(e)
            log = logger.debug if self._failing else logger.warning
            log("Cannot read the resource use of node %r: %s.", node, reason)
            self._failing = True
            return

        if self._failing:
            logger.info("Reading the resource use of node %r again.", node)
        self._failing = False

    def sample(self, node: str) -> Usage:
        """Read the figures once, from the metrics API while it answers, else the summary."""
        if self._metrics_api:
            try:
                return self._from_metrics_api(node)
            except failures.CLIENT_ERRORS as e:
                if not (failures.is_not_found(e) or _unavailable(e)):
                    raise
                logger.info("The metrics API does not answer; using the kubelet's summary.")
                self._metrics_api = False
        return self._from_summary(node)

    def _from_metrics_api(self, node: str) -> Usage:
        timeout = self._settings.request_timeout
        pods = json.loads(read_body(self._api.pod_metrics(self._settings.namespace, timeout)))
        own = json.loads(read_body(self._api.node_metrics(node, timeout)))
        return metrics_usage(pods, own)

    def _from_summary(self, node: str) -> Usage:
        summary = read_body(self._api.node_summary(node, self._settings.request_timeout))
        return summary_usage(json.loads(summary), self._settings.namespace)


def metrics_usage(pods: states.Raw, node: states.Raw) -> Usage:
    """A sample from the metrics API's PodMetricsList and NodeMetrics."""
    figures: dict[str, tuple[int, int]] = {}
    for item in pods.get("items", []):
        cpu = memory = 0
        for container in item.get("containers", []):
            used = container.get("usage", {})
            cpu += states.quantity(used.get("cpu"), scale=1000) or 0
            memory += states.quantity(used.get("memory")) or 0
        figures[item["metadata"]["name"]] = (cpu, memory)

    used = node.get("usage", {})
    return Usage(
        pods=figures,
        node_cpu=states.quantity(used.get("cpu"), scale=1000),
        node_memory=states.quantity(used.get("memory")),
        source="metrics-api",
    )


def summary_usage(summary: states.Raw, namespace: str) -> Usage:
    """A sample from the kubelet's stats summary: the namespace's Pods and the node."""
    figures = {
        pod["podRef"]["name"]: (_millicores(pod.get("cpu")), _bytes(pod.get("memory")))
        for pod in summary.get("pods", [])
        if pod.get("podRef", {}).get("namespace") == namespace
    }
    node = summary.get("node", {})
    return Usage(
        pods=figures,
        node_cpu=_millicores(node.get("cpu")),
        node_memory=_bytes(node.get("memory")),
        source="summary",
    )


def _millicores(cpu: states.Raw | None) -> int:
    return int((cpu or {}).get("usageNanoCores") or 0) // 1_000_000


def _bytes(memory: states.Raw | None) -> int:
    # The working set is what the kernel would not give back: what the OOM killer looks at.
    return int((memory or {}).get("workingSetBytes") or 0)


def _reason(e: Exception) -> str:
    if isinstance(e, failures.CLIENT_ERRORS):
        return failures.translate(e, "the API server", "reading resource use").message
    # A body that is not the JSON expected: the server's version may differ from ours.
    return f"unexpected answer ({e!r})"


def _unavailable(e: Exception) -> bool:
    # An aggregated API whose backend is gone answers 503.
    return getattr(e, "status", None) == 503
