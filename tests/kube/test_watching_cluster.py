"""The watch cache against the real local cluster, and against an address where none answers."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from kubernetes import client
from tcp_forwarder import Forwarder

from k3s_netconf.desired import App
from k3s_netconf.kube.connection import connect
from k3s_netconf.kube.watching import PodChange, WatchCache
from k3s_netconf.kube.workloads import Workloads
from k3s_netconf.settings import KubernetesSettings

pytestmark = pytest.mark.cluster

IDLER = 'trap "exit 0" TERM; while :; do sleep 1; done'


def test_the_node_is_ready_with_its_version_and_allocatable_figures(cache: WatchCache):
    node = cache.node()

    assert node.cluster_reachable is True
    assert node.name == "localhost"
    assert node.ready is True
    assert node.kubernetes_version is not None and node.kubernetes_version.startswith("v1.")
    assert node.allocatable_cpu is not None and node.allocatable_cpu >= 1000
    assert node.allocatable_memory is not None and node.allocatable_memory > 256 * 1024**2
    assert node.allocatable_ephemeral_storage is not None and node.allocatable_ephemeral_storage > 0


def test_subscribers_hear_a_new_pod_change_phase_and_an_app_deleted(
    workloads: Workloads, cache: WatchCache, busybox_image: str
):
    changes: list[PodChange] = []
    unsubscribe = cache.subscribe(changes.append)
    app = App(name="noisy", image=busybox_image, command=("sh", "-c", IDLER))

    try:
        workloads.apply(dataclasses.replace(app, termination_grace_period=5))
        assert cache.wait_until(lambda: _phases(changes, "noisy")[-1:] == ["Running"], 90)
        workloads.delete("noisy")
        assert cache.wait_until(lambda: _phases(changes, "noisy")[-1:] == [None], 30)
    finally:
        unsubscribe()

    assert _phases(changes, "noisy")[0] in ("Pending", "Running")


def test_a_second_cache_lists_what_is_already_there(
    workloads: Workloads,
    cache: WatchCache,
    busybox_image: str,
    api_client: client.ApiClient,
    kube_settings: KubernetesSettings,
):
    app = App(name="early", image=busybox_image, command=("sh", "-c", IDLER))
    workloads.apply(dataclasses.replace(app, termination_grace_period=5))
    assert cache.wait_until(lambda: _ready(cache, "early"), 90)

    late = WatchCache(api_client, kube_settings)
    late.start()
    try:
        assert late.wait_until(late.reachable, 30)
        # Both caches follow the same events; give the older one a moment to agree.
        assert late.wait_until(lambda: late.apps()["early"] == cache.apps()["early"], 5)
    finally:
        late.stop()


def test_stopping_the_cache_is_prompt(
    api_client: client.ApiClient,
    kube_settings: KubernetesSettings,
    record_timing: Callable[[str, float], None],
):
    threads_before = _watch_threads()
    cache = WatchCache(api_client, kube_settings)
    cache.start()
    assert cache.wait_until(cache.reachable, 30)
    assert _watch_threads() == threads_before + 3

    started = time.monotonic()
    cache.stop()
    took = time.monotonic() - started
    record_timing("WatchCache.stop() with three open watches", took)

    assert took < 1.5
    assert _watch_threads() == threads_before


def test_a_cache_without_an_api_server_reports_the_cluster_unreachable(
    unreachable_settings: KubernetesSettings,
):
    api_client = connect(unreachable_settings)
    cache = WatchCache(api_client, unreachable_settings)

    cache.start()
    try:
        # Three attempts per kind at least: the first failure and two retries after backoff.
        time.sleep(2)
        assert cache.node().cluster_reachable is False
        assert cache.apps() == {}
        assert not cache.wait_until(cache.reachable, 0.5)
    finally:
        started = time.monotonic()
        cache.stop()
        api_client.close()

    assert time.monotonic() - started < 1.5


def test_the_cache_goes_stale_while_the_api_server_is_away_and_catches_up_after(
    workloads: Workloads,
    api_client: client.ApiClient,
    settings_via: Callable[[str], KubernetesSettings],
    busybox_image: str,
):
    # The cache reaches the API server through a forwarder that the test cuts and restores.
    server = urlsplit(api_client.configuration.host)
    forwarder = Forwarder(server.hostname or "127.0.0.1", server.port or 443)
    settings = settings_via(f"https://127.0.0.1:{forwarder.port}")
    forwarder.open()
    forwarded_client = connect(settings)
    cache = WatchCache(forwarded_client, settings)
    cache.start()

    try:
        assert cache.wait_until(cache.reachable, 30)
        forwarder.cut()
        assert cache.wait_until(lambda: not cache.node().cluster_reachable, 10)

        # Changed while the cache cannot see: it must learn of it by listing again.
        app = App(name="unseen", image=busybox_image, enabled=False)
        workloads.apply(app)
        forwarder.open()

        assert cache.wait_until(cache.reachable, 30)
        assert cache.apps()["unseen"].desired_replicas == 0
    finally:
        cache.stop()
        forwarder.cut()
        forwarded_client.close()


def _watch_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("watch-") and t.is_alive())


def _phases(changes: list[PodChange], app: str) -> list[str | None]:
    return [
        c.current.phase if c.current else None for c in changes if c.app == app and c.phase_changed
    ]


def _ready(cache: WatchCache, app: str) -> bool:
    state = cache.apps().get(app)
    return state is not None and any(p.ready for p in state.pods)
