"""A device under test: the daemon on the local cluster, and the views a test checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from lxml import etree
from ncclient import manager
from protocol.connecting import ncclient

from k3s_netconf.kube.connection import connect as connect_api
from k3s_netconf.settings import KubernetesSettings

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
# An image of this test run's own, so removing it never disturbs another tier's image, nor
# another run's on the same cluster.
IMAGE = f"localhost/k3s-netconf/busybox:e2e-{os.getpid()}"
ARCHIVE = "busybox-e2e.tar"

POD_TIMEOUT = 120.0
RPC_TIMEOUT = 90.0
POLL_SECONDS = 0.5


def image_xml() -> str:
    return (
        f'<images xmlns="{KA}"><image><name>{IMAGE}</name><archive>{ARCHIVE}</archive>'
        "</image></images>"
    )


def app_xml(name: str, body: str) -> str:
    return f'<apps xmlns="{KA}"><app><name>{name}</name><image>{IMAGE}</image>{body}</app></apps>'


def connect(daemon: Any) -> manager.Manager:
    session = ncclient(daemon)
    # A commit that deletes an app waits for its Pods to go.
    session.timeout = RPC_TIMEOUT
    return session


def rpc(session: manager.Manager, body: str) -> etree._Element:
    """Send a raw rpc; the reply's XML (ncclient raises RPCError for an rpc-error)."""
    reply = session.dispatch(etree.fromstring(body))
    return etree.fromstring(reply.xml.encode())


@dataclass
class Device:
    start: Callable[..., Any]
    folder: Path
    sections: dict[str, dict[str, Any]]
    namespace: str
    containerd_address: str
    volume_root: Path
    api_client: client.ApiClient
    daemon: Any = None
    manager: manager.Manager = None
    # TOML text appended to the settings, such as more [[users]] and a [nacm] section.
    extra: str = ""
    apps_api: client.AppsV1Api = field(init=False)
    core_api: client.CoreV1Api = field(init=False)

    def __post_init__(self) -> None:
        self.apps_api = client.AppsV1Api(self.api_client)
        self.core_api = client.CoreV1Api(self.api_client)

    def launch(self) -> None:
        self.daemon = self.start(self.folder, extra=self.extra, **self.sections)
        self.manager = connect(self.daemon)

    def restart(self) -> None:
        self.manager.close_session()
        assert self.daemon.stop() == 0
        self.launch()

    def close(self) -> None:
        if self.manager is not None and self.manager.connected:
            self.manager.close_session()

    def edit(self, body: str) -> None:
        self.manager.edit_config(
            target="running", config=f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>'
        )

    def get(self) -> etree._Element:
        return etree.fromstring(self.manager.get().data_xml.encode())

    def get_config(self) -> etree._Element:
        return etree.fromstring(self.manager.get_config("running").data_xml.encode())

    def wait_for_pod(
        self, app: str, wanted: Callable[[etree._Element], bool], timeout: float = POD_TIMEOUT
    ) -> etree._Element:
        """The first Pod of ``app`` that get reports in the wanted state; fails after timeout."""
        deadline = time.monotonic() + timeout
        pods: list[etree._Element] = []
        while time.monotonic() < deadline:
            pods = self._pods(app)
            found = next((p for p in pods if wanted(p)), None)
            if found is not None:
                return found
            time.sleep(POLL_SECONDS)
        seen = [etree.tostring(p).decode() for p in pods]
        raise AssertionError(f"no Pod of {app!r} reached the wanted state in {timeout} s: {seen}")

    def _pods(self, app: str) -> list[etree._Element]:
        data = self.get()
        for entry in data.iterfind(f".//{{{KA}}}apps/{{{KA}}}app"):
            if entry.findtext(f"{{{KA}}}name") == app:
                return list(entry.iterfind(f"{{{KA}}}state/{{{KA}}}pod"))
        return []

    def deployments(self) -> set[str]:
        listed = self.apps_api.list_namespaced_deployment(self.namespace, _request_timeout=10)
        return {d.metadata.name for d in listed.items}

    def images(self) -> set[str]:
        listed = subprocess.run(
            ["ctr", "--address", self.containerd_address, "-n", "k8s.io", "images", "ls", "-q"],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return set(listed.stdout.split())

    def remove_image(self) -> None:
        subprocess.run(
            ["ctr", "--address", self.containerd_address, "-n", "k8s.io", "images", "rm", IMAGE],
            # Absent already when the test removed it through NETCONF.
            check=False,
            capture_output=True,
            timeout=30,
        )


def make_device(
    cluster,
    kubeconfig: str,
    start_daemon: Callable[..., object],
    e2e_archive: Path,
    tmp_path: Path,
    settings: dict[str, dict[str, object]] | None = None,
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
        # A test module may add sections of its own (metrics, resources, log).
        **(settings or {}),
    }
    api_client = connect_api(KubernetesSettings(kubeconfig=cluster.kubeconfig))
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
