"""The ``device`` fixture: a daemon of the test's own, managing a namespace of its own."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_support import ARCHIVE, IMAGE, Device
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from k3s_netconf.kube.connection import connect
from k3s_netconf.settings import KubernetesSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def e2e_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = tmp_path_factory.mktemp("e2e-image") / ARCHIVE
    subprocess.run(
        [str(REPO / "tools" / "mkimage"), "--ref", IMAGE, "--out", str(archive), "--busybox"],
        check=True,
        timeout=120,
    )
    return archive


@pytest.fixture
def device(
    cluster, start_daemon: Callable[..., object], e2e_archive: Path, tmp_path: Path
) -> Iterator[Device]:
    device = make_device(cluster, cluster.kubeconfig, start_daemon, e2e_archive, tmp_path)
    device.launch()
    yield device
    close_device(device)


def make_device(
    cluster, kubeconfig: str, start_daemon: Callable[..., object], e2e_archive: Path, tmp_path: Path
) -> Device:
    """A device whose daemon reaches the API server through ``kubeconfig``, not started yet."""
    images, volumes = tmp_path / "images", tmp_path / "volumes"
    images.mkdir()
    volumes.mkdir()
    (images / ARCHIVE).write_bytes(e2e_archive.read_bytes())

    namespace = f"k3snc-e2e-{secrets.token_hex(4)}"
    sections = {
        "server": {"max_message_bytes": 8 * 1024 * 1024},
        "kubernetes": {"kubeconfig": kubeconfig, "namespace": namespace},
        "images": {"containerd_address": cluster.containerd_address, "folder": str(images)},
        "volumes": {"allowed_roots": [str(volumes)]},
    }
    api_client = connect(KubernetesSettings(kubeconfig=cluster.kubeconfig))
    return Device(
        start_daemon,
        tmp_path / "daemon",
        sections,
        namespace,
        cluster.containerd_address,
        volumes,
        api_client,
    )


def close_device(device: Device) -> None:
    device.close()
    try:
        client.CoreV1Api(device.api_client).delete_namespace(device.namespace, _request_timeout=10)
    except ApiException as e:
        # A daemon that never reached the API server made no namespace.
        if e.status != 404:
            raise
    device.remove_image()
    device.api_client.close()
