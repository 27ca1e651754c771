"""Faults injected into a running device: the API server away, the daemon killed mid-commit.

The daemon reaches the real API server through a TCP forwarder of the test's own, so cutting
the forwarder makes the API server unreachable for this daemon only.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from e2e_support import IMAGE, KA, Device, app_xml, close_device, image_xml, make_device
from kube.tcp_forwarder import Forwarder
from lxml import etree
from ncclient.operations.rpc import RPCError

WAIT_SECONDS = 90.0
POLL_SECONDS = 0.2
# Apps of the large commit a kill interrupts; disabled, so they cost the node no Pods.
MANY = 16


@pytest.fixture
def link(cluster, tmp_path: Path) -> Iterator[tuple[Forwarder, str]]:
    """A forwarder in front of the API server, and a kubeconfig that goes through it."""
    kubeconfig = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    server = urlsplit(kubeconfig["clusters"][0]["cluster"]["server"])
    forwarder = Forwarder(server.hostname or "127.0.0.1", server.port or 443)
    kubeconfig["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{forwarder.port}"
    path = tmp_path / "forwarded-kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    yield forwarder, str(path)
    forwarder.cut()


@pytest.fixture
def linked_device(
    cluster, link, start_daemon, e2e_archive: Path, tmp_path: Path
) -> Iterator[tuple[Device, Forwarder]]:
    """A device (not started) whose daemon reaches the API server only through ``link``."""
    forwarder, kubeconfig = link
    device = make_device(cluster, kubeconfig, start_daemon, e2e_archive, tmp_path)
    yield device, forwarder
    close_device(device)


def test_a_commit_while_the_api_server_is_unreachable_fails_and_changes_nothing(linked_device):
    device, forwarder = linked_device
    forwarder.open()
    device.launch()
    wait_for(lambda: cluster_reachable(device) == "true", "the cluster to be reachable")
    before = device.get_config()

    forwarder.cut()
    with pytest.raises(RPCError) as e:
        device.edit(image_xml() + app_xml("web", ""))

    assert e.value.tag == "operation-failed"
    assert "Kubernetes API server" in e.value.message
    assert "not reachable" in e.value.message
    assert same(device.get_config(), before)
    assert device.deployments() == set()
    assert IMAGE not in device.images()
    # The session still answers, and get says why nothing happened.
    wait_for(lambda: cluster_reachable(device) == "false", "get to report the cluster away")


def test_a_daemon_started_without_the_api_server_serves_and_reconciles_when_it_returns(
    linked_device,
):
    device, forwarder = linked_device
    forwarder.open()
    device.launch()
    device.edit(image_xml() + app_xml("web", "<enabled>false</enabled>"))
    saved = device.get_config()
    device.manager.close_session()
    assert device.daemon.stop() == 0
    # Gone while the daemon was down: only reconciling can bring it back.
    device.apps_api.delete_namespaced_deployment("web", device.namespace, _request_timeout=10)
    wait_for(lambda: device.deployments() == set(), "the Deployment to go")

    forwarder.cut()
    device.launch()

    assert same(device.get_config(), saved)
    assert cluster_reachable(device) == "false"
    forwarder.open()
    wait_for(lambda: device.deployments() == {"web"}, "the Deployment to come back")
    wait_for(lambda: cluster_reachable(device) == "true", "get to report the cluster back")


@pytest.mark.parametrize("point", ["planned", "first-deployment", "all-deployments"])
def test_a_daemon_killed_mid_commit_restarts_on_the_old_or_the_new_config(device, point):
    device.edit(image_xml())
    old = device.get_config()
    new_apps = {f"app{i:02d}" for i in range(MANY)}
    failures: list[Exception] = []
    commit = threading.Thread(target=_edit_quietly, args=(device, _many_apps(new_apps), failures))

    commit.start()
    wait_for(_kill_point(device, point, len(new_apps)), f"the kill point {point!r}")
    os.kill(device.daemon.process.pid, signal.SIGKILL)
    device.daemon.process.wait(WAIT_SECONDS)
    commit.join(WAIT_SECONDS)

    saved = etree.parse(str(device.folder / "state" / "running.xml")).getroot()
    assert _app_names(saved) in (set(), new_apps)
    device.launch()
    kept = _app_names(device.get_config())
    assert kept == _app_names(saved)
    if not kept:
        assert same(device.get_config(), old)
    wait_for(lambda: device.deployments() == kept, "the cluster to be reconciled")


def _kill_point(device: Device, point: str, count: int) -> Callable[[], bool]:
    if point == "planned":
        # The daemon logs each commit's plan before it performs it; the first was the image's.
        return lambda: device.daemon.log().count(" commits ") >= 2
    wanted = 1 if point == "first-deployment" else count
    return lambda: len(device.deployments()) >= wanted


def _many_apps(names: set[str]) -> str:
    entries = "".join(
        f"<app><name>{n}</name><image>{IMAGE}</image><enabled>false</enabled></app>"
        for n in sorted(names)
    )
    return f'<apps xmlns="{KA}">{entries}</apps>'


def _edit_quietly(device: Device, body: str, failures: list[Exception]) -> None:
    # The daemon dies under the edit: the session's end is the expected outcome.
    try:
        device.edit(body)
    except Exception as e:  # noqa: BLE001
        failures.append(e)


def _app_names(tree: etree._Element) -> set[str]:
    return {name.text for name in tree.iterfind(f".//{{{KA}}}app/{{{KA}}}name")}


def cluster_reachable(device: Device) -> str | None:
    return device.get().findtext(f".//{{{KA}}}cluster-reachable")


def same(a: etree._Element, b: etree._Element) -> bool:
    return etree.tostring(a, method="c14n") == etree.tostring(b, method="c14n")


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"waited {timeout} s in vain for {what}")


def test_a_deployment_deleted_by_hand_is_put_back_and_the_log_says_so(device):
    device.edit(image_xml() + app_xml("web", "<enabled>false</enabled>"))
    first = _deployment(device, "web").metadata.uid

    device.apps_api.delete_namespaced_deployment("web", device.namespace, _request_timeout=10)

    wait_for(lambda: _uid(device, "web") not in (None, first), "the Deployment to be put back")
    assert "'web' was changed outside the plugin (it was deleted)" in device.daemon.log()


def test_a_deployment_edited_by_hand_gets_its_replicas_and_image_back(device):
    device.edit(image_xml() + app_xml("web", "<enabled>false</enabled>"))
    edited = {
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "web", "image": "localhost/other:1"}]}},
        }
    }

    device.apps_api.patch_namespaced_deployment(
        "web", device.namespace, edited, _request_timeout=10
    )

    wait_for(lambda: _replicas_and_image(device, "web") == (0, IMAGE), "the spec to be put back")
    log = device.daemon.log()
    assert "'web' was changed outside the plugin (replicas 2 instead of 0; images" in log


def _deployment(device: Device, name: str):
    return device.apps_api.read_namespaced_deployment(name, device.namespace, _request_timeout=10)


def _uid(device: Device, name: str) -> str | None:
    listed = device.apps_api.list_namespaced_deployment(
        device.namespace, field_selector=f"metadata.name={name}", _request_timeout=10
    )
    return listed.items[0].metadata.uid if listed.items else None


def _replicas_and_image(device: Device, name: str) -> tuple[int, str]:
    spec = _deployment(device, name).spec
    return spec.replicas, spec.template.spec.containers[0].image
