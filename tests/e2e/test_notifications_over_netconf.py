"""Notifications end to end: a subscribed ncclient session hears of the real cluster's Pods.

The events come from the watch cache of the daemon under test, fed by the local cluster: a
committed app's Pod starts running, and a Pod deleted through the Kubernetes API goes away
while its Deployment makes a new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from e2e_support import IMAGE, KA, Device, app_xml, connect, image_xml
from lxml import etree
from ncclient import manager

pytestmark = pytest.mark.cluster

NF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
SLEEPER = "<command>sh</command><args>-c</args><args>exec sleep 3600</args>"

# Seconds to wait for an event of the cluster, from a commit or a deletion.
EVENT_TIMEOUT = 120.0


def wait_for_event(
    session: manager.Manager, wanted: Callable[[etree._Element], bool], seen: list[etree._Element]
) -> etree._Element:
    """The first notification content that ``wanted`` accepts, among those seen already or
    read next; every one read goes to seen, since events of the cluster come in any order."""
    found = next((c for c in seen if wanted(c)), None)
    if found is not None:
        return found

    deadline = time.monotonic() + EVENT_TIMEOUT
    while time.monotonic() < deadline:
        received = session.take_notification(block=True, timeout=deadline - time.monotonic())
        if received is None:
            break
        notification = etree.fromstring(received.notification_xml.encode())
        assert notification.findtext(f"{{{NF}}}eventTime"), received.notification_xml
        (content,) = [c for c in notification if c.tag != f"{{{NF}}}eventTime"]
        seen.append(content)
        if wanted(content):
            return content
    shown = [etree.tostring(c).decode() for c in seen]
    raise AssertionError(f"no wanted notification within {EVENT_TIMEOUT} s; saw {shown}")


def state_change(app: str, phase: str | None, pod: str | None = None) -> Callable[..., bool]:
    def wanted(content: etree._Element) -> bool:
        return (
            content.tag == f"{{{KA}}}app-state-change"
            and content.findtext(f"{{{KA}}}app") == app
            and content.findtext(f"{{{KA}}}phase") == phase
            and (pod is None or content.findtext(f"{{{KA}}}pod") == pod)
        )

    return wanted


def test_a_committed_app_sends_its_image_import_config_change_and_pod_running(device: Device):
    seen: list[etree._Element] = []
    with connect(device.daemon) as listener:
        listener.create_subscription()
        device.edit(image_xml() + app_xml("sleeper", SLEEPER))

        imported = wait_for_event(listener, lambda c: c.tag == f"{{{KA}}}image-import", seen)
        running = wait_for_event(listener, state_change("sleeper", "Running"), seen)
        changed = wait_for_event(
            listener, lambda c: c.tag == f"{{{NCN}}}netconf-config-change", seen
        )

    assert imported.findtext(f"{{{KA}}}name") == IMAGE
    assert imported.findtext(f"{{{KA}}}result") == "success"
    pod = device.core_api.read_namespaced_pod(running.findtext(f"{{{KA}}}pod"), device.namespace)
    assert pod.status.phase == "Running"
    assert running.findtext(f"{{{KA}}}restart-count") == "0"
    edits = {
        (e.findtext(f"{{{NCN}}}target"), e.findtext(f"{{{NCN}}}operation"))
        for e in changed.iterfind(f"{{{NCN}}}edit")
    }
    assert edits == {
        (f"/ka:images/ka:image[ka:name='{IMAGE}']", "create"),
        ("/ka:apps/ka:app[ka:name='sleeper']", "create"),
    }
    assert changed.findtext(f"{{{NCN}}}changed-by/{{{NCN}}}username") == device.daemon.user


def test_a_pod_deleted_by_the_api_sends_its_end_and_its_successor_running(device: Device):
    seen: list[etree._Element] = []
    selector = f'<app-state-change xmlns="{KA}"><app>sleeper</app></app-state-change>'
    with connect(device.daemon) as listener:
        listener.create_subscription(filter=("subtree", selector))
        device.edit(image_xml() + app_xml("sleeper", SLEEPER))
        first = wait_for_event(listener, state_change("sleeper", "Running"), seen)
        name = first.findtext(f"{{{KA}}}pod")

        device.core_api.delete_namespaced_pod(
            name, device.namespace, grace_period_seconds=0, _request_timeout=10
        )
        gone = wait_for_event(listener, state_change("sleeper", None, pod=name), seen)
        successor = wait_for_event(
            listener,
            lambda c: state_change("sleeper", "Running")(c) and c.findtext(f"{{{KA}}}pod") != name,
            seen,
        )

    assert gone.findtext(f"{{{KA}}}previous-phase") == "Running"
    assert successor.findtext(f"{{{KA}}}pod") != name
    # The filter let through only this app's state changes: no image-import came.
    assert {c.tag for c in seen} == {f"{{{KA}}}app-state-change"}


def test_a_crashing_container_sends_its_restarts_with_the_count_going_up(device: Device):
    seen: list[etree._Element] = []
    crash = "<command>sh</command><args>-c</args><args>exit 3</args>"
    selector = f'<app-state-change xmlns="{KA}"><app>crash</app></app-state-change>'
    with connect(device.daemon) as listener:
        listener.create_subscription(filter=("subtree", selector))
        device.edit(image_xml() + app_xml("crash", crash))
        restarted = wait_for_event(
            listener, lambda c: int(c.findtext(f"{{{KA}}}restart-count") or 0) >= 1, seen
        )

    counts = [int(c.findtext(f"{{{KA}}}restart-count") or 0) for c in seen]
    assert counts == sorted(counts)
    assert restarted.findtext(f"{{{KA}}}pod")
