"""Fixtures for tests against the local single-node cluster of tools/cluster.

The cluster is started with ``tools/cluster/up`` when no API server answers, and left running
afterwards so that later runs start at once (``tools/cluster/down`` stops it). Each test
module gets a namespace of its own, deleted when the module is done, and the busybox image
the apps run, built by ``tools/mkimage`` and imported into the cluster's containerd.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from localcluster import REPO, LocalCluster

from k3s_netconf.kube import failures
from k3s_netconf.kube.connection import connect
from k3s_netconf.kube.watching import WatchCache
from k3s_netconf.kube.workloads import Workloads
from k3s_netconf.settings import KubernetesSettings

IMAGE = "docker.io/library/busybox:1.36"

REQUEST_TIMEOUT = 10.0
DELETE_TIMEOUT = 60.0


@pytest.fixture(scope="session")
def busybox_image(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    archive = tmp_path_factory.mktemp("image") / "busybox.tar"
    subprocess.run(
        [str(REPO / "tools" / "mkimage"), "--ref", IMAGE, "--out", str(archive), "--busybox"],
        check=True,
        timeout=120,
    )
    subprocess.run(
        [
            "ctr",
            "--address",
            cluster.containerd_address,
            "-n",
            "k8s.io",
            "images",
            "import",
            str(archive),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return IMAGE


@pytest.fixture(scope="module")
def kube_settings(
    cluster: LocalCluster, request: pytest.FixtureRequest
) -> Iterator[KubernetesSettings]:
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    settings = KubernetesSettings(
        kubeconfig=cluster.kubeconfig,
        namespace=f"k3snc-{module}-{secrets.token_hex(3)}"[:63],
        delete_timeout=DELETE_TIMEOUT,
        request_timeout=REQUEST_TIMEOUT,
    )
    yield settings

    api_client = connect(settings)
    try:
        # Deleting the namespace takes its Pods with it; nothing waits for that to finish.
        client.CoreV1Api(api_client).delete_namespace(settings.namespace, _request_timeout=10)
    except failures.CLIENT_ERRORS as e:
        if not failures.is_not_found(e):
            raise
    finally:
        api_client.close()


@pytest.fixture
def settings_via(
    kube_settings: KubernetesSettings, tmp_path: Path
) -> Callable[[str], KubernetesSettings]:
    """Settings that reach the cluster through another address, with the same credentials."""

    def make(server: str) -> KubernetesSettings:
        kubeconfig = yaml.safe_load(Path(kube_settings.kubeconfig).read_text())
        kubeconfig["clusters"][0]["cluster"]["server"] = server
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig))
        return dataclasses.replace(kube_settings, kubeconfig=str(path))

    return make


@pytest.fixture
def unreachable_settings(settings_via: Callable[[str], KubernetesSettings]) -> KubernetesSettings:
    """Settings whose kubeconfig points at a loopback port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return settings_via(f"https://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def api_client(kube_settings: KubernetesSettings) -> Iterator[client.ApiClient]:
    api_client = connect(kube_settings)
    yield api_client
    api_client.close()


@pytest.fixture(scope="module")
def workloads(api_client: client.ApiClient, kube_settings: KubernetesSettings) -> Workloads:
    workloads = Workloads(api_client, kube_settings)
    workloads.ensure_namespace()
    return workloads


@pytest.fixture(scope="module")
def cache(api_client: client.ApiClient, kube_settings: KubernetesSettings) -> Iterator[WatchCache]:
    cache = WatchCache(api_client, kube_settings)
    cache.start()
    assert cache.wait_until(cache.reachable, timeout=30), "the watch cache never listed the cluster"
    yield cache
    cache.stop()
