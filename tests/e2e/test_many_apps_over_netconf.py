"""Commits that add or delete many apps at once, over NETCONF on the local cluster.

The daemon sends such a commit's requests a few at a time; what the client sees must not
change: all of the commit or none of it, and the error of the app that failed.
"""

from __future__ import annotations

import pytest
from e2e_support import IMAGE, KA, Device, image_xml
from kubernetes import client
from lxml import etree
from ncclient.operations import RPCError

pytestmark = pytest.mark.cluster

MANY = 24
IDLER = 'trap "exit 0" TERM; while :; do sleep 1; done'


def app(name: str, enabled: bool = False) -> str:
    # Disabled apps are Deployments at zero replicas: many of them cost the node no Pod.
    return (
        f"<app><name>{name}</name><image>{IMAGE}</image>"
        f"<enabled>{str(enabled).lower()}</enabled>"
        f"<command>sh</command><args>-c</args><args>{IDLER}</args></app>"
    )


def apps(*entries: str) -> str:
    return f'<apps xmlns="{KA}">{"".join(entries)}</apps>'


def deleted(*names: str) -> str:
    return apps(*(f'<app nc:operation="delete"><name>{name}</name></app>' for name in names))


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i:02d}" for i in range(count)]


def test_a_commit_of_many_apps_makes_a_deployment_of_each(device: Device):
    added = names("many", MANY)

    device.edit(image_xml() + apps(*(app(name) for name in added)))

    assert device.deployments() == set(added)
    configured = device.get_config().iterfind(f".//{{{KA}}}app/{{{KA}}}name")
    assert sorted(e.text for e in configured) == added

    device.edit(deleted(*added))
    assert device.deployments() == set()


def test_an_app_colliding_with_a_foreign_deployment_fails_the_commit_and_leaves_nothing(
    device: Device,
):
    device.edit(image_xml() + apps(app("kept")))
    before = device.get_config()
    # Someone else's Deployment of the same name: its selector is immutable, and differs from
    # the one the app's Deployment would have, so the API server refuses the apply.
    device.apps_api.create_namespaced_deployment(device.namespace, _foreign("taken"))
    added = names("added", MANY // 2)

    with pytest.raises(RPCError) as e:
        # First, so that the apps after it are in flight when it fails.
        device.edit(apps(app("taken"), *(app(n) for n in added)))

    assert e.value.tag == "invalid-value"
    assert e.value.path.strip() == "/ka:apps/ka:app[ka:name='taken']"
    assert "field is immutable" in e.value.message
    assert device.deployments() == {"kept", "taken"}
    foreign = device.apps_api.read_namespaced_deployment("taken", device.namespace)
    assert foreign.spec.selector.match_labels == {"app": "someone-else"}
    assert _same_xml(device.get_config(), before)


def test_deleting_many_apps_answers_once_their_pods_are_gone(device: Device):
    running, disabled = names("running", 3), names("off", MANY - 3)
    device.edit(image_xml() + apps(*(app(n, enabled=True) for n in running), *map(app, disabled)))
    for name in running:
        device.wait_for_pod(name, lambda p: p.findtext(f"{{{KA}}}phase") == "Running")

    device.edit(deleted(*running, *disabled))

    left = device.core_api.list_namespaced_pod(device.namespace, _request_timeout=10)
    assert [p.metadata.name for p in left.items] == []
    assert device.deployments() == set()


def _foreign(name: str) -> client.V1Deployment:
    labels = {"app": "someone-else"}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=0,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="idle", image="never/pulled:1")]
                ),
            ),
        ),
    )


def _same_xml(a: etree._Element, b: etree._Element) -> bool:
    return etree.tostring(a, method="c14n") == etree.tostring(b, method="c14n")
