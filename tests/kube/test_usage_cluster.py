"""Resource use and Events from the real local cluster, which runs no metrics-server."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from k3s_netconf.desired import App
from k3s_netconf.kube.health import HealthWatchCache
from k3s_netconf.kube.usage import UsagePoller
from k3s_netconf.kube.workloads import Workloads
from k3s_netconf.settings import KubernetesSettings

pytestmark = pytest.mark.cluster

NODE = "localhost"
TIMEOUT = 60.0


def test_without_a_metrics_api_the_kubelets_summary_gives_the_nodes_use(
    api_client: client.ApiClient, kube_settings: KubernetesSettings
):
    poller = UsagePoller(api_client, kube_settings, interval=1.0, node_name=lambda: NODE)

    sample = poller.sample(NODE)

    # The local cluster's node address is loopback, which the API server does not proxy to.
    assert sample.source in ("summary", "kubelet")
    assert sample.node_cpu is not None and sample.node_cpu > 0
    assert sample.node_memory is not None and sample.node_memory > 16 * 2**20


def test_the_events_of_an_apps_pod_reach_the_cache(
    api_client: client.ApiClient,
    kube_settings: KubernetesSettings,
    workloads: Workloads,
    busybox_image: str,
):
    cache = HealthWatchCache(api_client, kube_settings, events_per_app=5)
    cache.start()
    try:
        assert cache.wait_until(cache.reachable, timeout=30), "the cache never listed the cluster"
        workloads.apply(App(name="eventful", image=busybox_image, command=("sleep", "3600")))

        def scheduled() -> bool:
            return any(e.app == "eventful" and e.reason == "Scheduled" for e in cache.events())

        assert cache.wait_until(scheduled, timeout=TIMEOUT), [e.reason for e in cache.events()]
        event = next(e for e in cache.events() if e.reason == "Scheduled")
        assert event.pod.startswith("eventful-")
        assert event.type == "Normal"
        assert event.last_seen is not None and event.last_seen.year >= 2026
        assert cache.heard_at is not None and cache.heard_at <= time.monotonic()
    finally:
        cache.stop()
        workloads.delete("eventful")
