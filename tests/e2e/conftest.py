"""The ``device`` fixture: a daemon of the test's own, managing a namespace of its own."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_support import ARCHIVE, IMAGE, Device
from kubernetes import client

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
    cluster,
    start_daemon: Callable[..., object],
    e2e_archive: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Device]:
    images, volumes = tmp_path / "images", tmp_path / "volumes"
    images.mkdir()
    volumes.mkdir()
    (images / ARCHIVE).write_bytes(e2e_archive.read_bytes())

    namespace = f"k3snc-e2e-{secrets.token_hex(4)}"
    sections = {
        "server": {"max_message_bytes": 8 * 1024 * 1024},
        "kubernetes": {"kubeconfig": cluster.kubeconfig, "namespace": namespace},
        "images": {"containerd_address": cluster.containerd_address, "folder": str(images)},
        "volumes": {"allowed_roots": [str(volumes)]},
        # A test module may add sections of its own (metrics, resources, log).
        **getattr(request.module, "DAEMON_SETTINGS", {}),
    }
    api_client = connect(KubernetesSettings(kubeconfig=cluster.kubeconfig))
    device = Device(
        start_daemon,
        tmp_path / "daemon",
        sections,
        namespace,
        cluster.containerd_address,
        volumes,
        api_client,
    )
    device.launch()
    yield device

    device.close()
    client.CoreV1Api(api_client).delete_namespace(namespace, _request_timeout=10)
    device.remove_image()
    api_client.close()
