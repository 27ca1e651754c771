"""CPU and memory in use by the plugin's Pods and by the node, sampled in the background.

The metrics API (``metrics.k8s.io``, served by metrics-server as K3s ships it) answers when it
is installed; otherwise the kubelet's summary API, reached through the API server's node
proxy, has the same figures. An API server refuses to proxy to a node whose address is
loopback; the daemon runs on the node, so the kubelet is then asked directly, with the client
certificate of the kubeconfig (never a token: the kubelet's certificate is self-signed and
cannot be verified). Each is read by one thread at a bounded interval, never per get: a get
reads the last sample from memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from k3s_netconf.kube import failures, states
from k3s_netconf.kube.connection import read_body
from k3s_netconf.kube.endpoints import Endpoints, Timeout, _part
from k3s_netconf.settings import KubernetesSettings

logger = logging.getLogger(__name__)

METRICS_API = "/apis/metrics.k8s.io/v1beta1"

# Answers that mean "this source is not there", so the next one is tried: not found, refused
# to proxy (a loopback node address), forbidden, an aggregated API without its backend.
FALLBACK_STATUSES = (400, 403, 404, 503)
SOURCE_TITLES = {"summary": "kubelet's summary through the API server", "kubelet": "kubelet"}

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

    def read_node(self, node: str, timeout: Timeout) -> Any:
        return self._send("GET", f"/api/v1/nodes/{_part(node)}", [], timeout)


class Kubelet:
    """The node's kubelet, asked directly with the kubeconfig's client certificate."""

    def __init__(self, api_client: ApiClient) -> None:
        configuration = api_client.configuration
        self.usable = bool(configuration.cert_file and configuration.key_file)
        self._pool = urllib3.PoolManager(
            cert_file=configuration.cert_file,
            key_file=configuration.key_file,
            cert_reqs="CERT_NONE",
            retries=False,
        )

    def summary(self, node: states.Raw, timeout: float) -> Any:
        url = f"https://{kubelet_address(node)}/stats/summary"
        # The certificate is not checked (see above); the warning would repeat every sample.
        with _quiet_insecure():
            response = self._pool.request("GET", url, timeout=timeout, preload_content=True)
        if response.status != 200:
            raise ApiException(status=response.status, reason=response.data[:200].decode())
        return response.data


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
        self._kubelet = Kubelet(api_client)
        # The first source that answers is kept: "metrics-api", then "summary", then "kubelet".
        self._source = "metrics-api"
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
        """Read the figures once, from the first source that answers."""
        if self._source == "metrics-api":
            try:
                return self._from_metrics_api(node)
            except failures.CLIENT_ERRORS as e:
                self._next_source(e, "summary", "The metrics API does not answer")
        if self._source == "summary":
            try:
                return self._from_summary(node)
            except failures.CLIENT_ERRORS as e:
                if not self._kubelet.usable:
                    raise
                self._next_source(e, "kubelet", "The API server does not proxy to the kubelet")
        return self._from_kubelet(node)

    def _next_source(self, e: Exception, source: str, problem: str) -> None:
        if not isinstance(e, ApiException) or e.status not in FALLBACK_STATUSES:
            raise e
        logger.info(
            "%s (%s %s); reading resource use from the %s.",
            problem,
            e.status,
            e.reason,
            SOURCE_TITLES[source],
        )
        self._source = source

    def _from_metrics_api(self, node: str) -> Usage:
        timeout = self._settings.request_timeout
        pods = json.loads(read_body(self._api.pod_metrics(self._settings.namespace, timeout)))
        own = json.loads(read_body(self._api.node_metrics(node, timeout)))
        return metrics_usage(pods, own)

    def _from_summary(self, node: str) -> Usage:
        summary = read_body(self._api.node_summary(node, self._settings.request_timeout))
        return summary_usage(json.loads(summary), self._settings.namespace)

    def _from_kubelet(self, node: str) -> Usage:
        timeout = self._settings.request_timeout
        raw = json.loads(read_body(self._api.read_node(node, timeout)))
        summary = json.loads(self._kubelet.summary(raw, timeout))
        return dataclasses.replace(
            summary_usage(summary, self._settings.namespace), source="kubelet"
        )


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


def kubelet_address(node: states.Raw) -> str:
    """host:port of the node's kubelet: its Hostname address (the daemon runs on the node),
    else its InternalIP."""
    status = node.get("status", {})
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses", [])}
    host = addresses.get("Hostname") or addresses.get("InternalIP") or "127.0.0.1"
    port = status.get("daemonEndpoints", {}).get("kubeletEndpoint", {}).get("Port") or 10250
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@contextlib.contextmanager
def _quiet_insecure() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield
