"""get keeps the tree it joined until what it shows changes: a change of a Pod alone shows.

The Pod here is made by the test and held unscheduled, so no kubelet, controller or Event
touches it: its status changes only when the test writes it, and nothing else the tree
shows changes meanwhile. A get that kept showing an older tree would fail at once.
"""

from __future__ import annotations

import time

import pytest
from e2e_support import KA, Device, app_xml, connect, image_xml
from lxml import etree
from ncclient import manager

from k3s_netconf.kube import manifests

pytestmark = pytest.mark.cluster

# No usage sample during the test: a new one would build the tree again and hide a stale one.
DAEMON_SETTINGS = {"resources": {"usage_interval": 3600.0}}
APP = "ghost"
POD = f"{APP}-5f7c9d8b6-x2k4q"
NOTIFICATION_TIMEOUT = 30.0


def test_a_pods_phase_and_restarts_written_alone_show_in_the_next_get(device: Device):
    device.edit(image_xml() + app_xml(APP, "<enabled>false</enabled>"))
    with connect(device.daemon) as listener:
        listener.create_subscription(
            filter=(
                "subtree",
                f'<app-state-change xmlns="{KA}"><app>{APP}</app></app-state-change>',
            )
        )
        device.core_api.create_namespaced_pod(device.namespace, _held_pod(), _request_timeout=10)
        _heard(listener, "Pending", 0)
        assert _shown(device) == [("Pending", 0)] * 2

        for phase, restarts in (("Running", 0), ("Running", 1), ("Running", 2)):
            _write_status(device, phase, restarts)
            _heard(listener, phase, restarts)
            assert _shown(device) == [(phase, restarts)] * 2


def _held_pod() -> dict:
    # Not matched by the Deployment's ReplicaSet (no pod-template-hash), so never adopted.
    return {
        "metadata": {"name": POD, "labels": manifests.labels(APP)},
        "spec": {
            "schedulingGates": [{"name": "k3s-netconf.test/held"}],
            "containers": [{"name": APP, "image": "localhost/held:1", "imagePullPolicy": "Never"}],
        },
    }


def _write_status(device: Device, phase: str, restarts: int) -> None:
    status = {
        "phase": phase,
        "containerStatuses": [
            {
                "name": APP,
                "image": "localhost/held:1",
                "imageID": "",
                "ready": False,
                "restartCount": restarts,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            }
        ],
    }
    device.core_api.patch_namespaced_pod_status(
        POD, device.namespace, {"status": status}, _request_timeout=10
    )


def _heard(listener: manager.Manager, phase: str, restarts: int) -> None:
    """Wait for the notification of the Pod in this state: the cache holds it by then."""
    deadline = time.monotonic() + NOTIFICATION_TIMEOUT
    while time.monotonic() < deadline:
        received = listener.take_notification(block=True, timeout=deadline - time.monotonic())
        if received is None:
            break
        content = etree.fromstring(received.notification_xml.encode())
        heard = (
            content.findtext(f".//{{{KA}}}phase"),
            int(content.findtext(f".//{{{KA}}}restart-count") or 0),
        )
        if heard == (phase, restarts):
            return
    raise AssertionError(f"no notification of {POD} {phase} with {restarts} restarts")


def _shown(device: Device) -> list[tuple[str | None, int]]:
    """The Pod's phase and restart count in a get filtered to the apps, then in a whole get."""
    filtered = device.manager.get(filter=("subtree", f'<apps xmlns="{KA}"/>'))
    shown = []
    for data in (etree.fromstring(filtered.data_xml.encode()), device.get()):
        path = f"{{{KA}}}apps/{{{KA}}}app[{{{KA}}}name='{APP}']/{{{KA}}}state/{{{KA}}}pod"
        (pod,) = data.iterfind(path)
        assert pod.findtext(f"{{{KA}}}name") == POD
        shown.append(
            (pod.findtext(f"{{{KA}}}phase"), int(pod.findtext(f"{{{KA}}}restart-count") or 0))
        )
    return shown
