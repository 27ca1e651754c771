"""Apps managed over NETCONF end to end: ncclient, the real daemon, the local cluster.

Each test drives ``k3s-netconfd`` over SSH exactly as an operator's script would, and checks
the outcome where it lands: in the Kubernetes API, in containerd, and in what get reports.
"""

from __future__ import annotations

import time

import pytest
from e2e_support import IMAGE, KA, Device, app_xml, image_xml, rpc
from lxml import etree
from ncclient.operations import RPCError

pytestmark = pytest.mark.cluster


def test_an_app_added_over_netconf_becomes_a_deployment_with_exactly_its_fields(device: Device):
    device.edit(image_xml() + app_xml("web", WEB))

    deployment = device.apps_api.read_namespaced_deployment("web", device.namespace)
    spec = deployment.spec.template.spec
    (container,) = spec.containers
    assert deployment.spec.strategy.type == "Recreate"
    assert deployment.spec.replicas == 1
    assert container.image == IMAGE
    assert container.image_pull_policy == "Never"
    assert [(e.name, e.value) for e in container.env] == [("GREETING", "hello"), ("MODE", "demo")]
    assert [(p.name, p.container_port, p.protocol) for p in container.ports] == [
        ("http", 8080, "TCP")
    ]
    assert container.resources.limits == {"cpu": "250m", "memory": "67108864"}
    assert deployment.metadata.labels["app.kubernetes.io/managed-by"] == "k3s-netconf"


def test_get_reports_the_running_pod_with_its_ip_and_readiness(device: Device, record_timing):
    started = time.monotonic()
    device.edit(image_xml() + app_xml("web", WEB))
    committed = time.monotonic()

    pod = device.wait_for_pod(
        "web",
        lambda p: (
            p.findtext(f"{{{KA}}}phase") == "Running" and p.findtext(f"{{{KA}}}ready") == "true"
        ),
    )
    record_timing("edit-config adding an image and an app, until <ok/>", committed - started)
    record_timing(
        "edit-config sent until get shows the Pod Running and ready", time.monotonic() - started
    )
    assert pod.findtext(f"{{{KA}}}pod-ip")
    assert pod.findtext(f"{{{KA}}}node")
    assert pod.findtext(f"{{{KA}}}container/{{{KA}}}state") == "running"
    state = device.get().find(f".//{{{KA}}}image/{{{KA}}}state")
    assert state.findtext(f"{{{KA}}}present") == "true"


def test_a_crashing_container_shows_its_restarts_and_exit_code(device: Device):
    crash = "<command>sh</command><args>-c</args><args>echo bye; exit 3</args>"
    device.edit(image_xml() + app_xml("crash", crash))

    pod = device.wait_for_pod(
        "crash", lambda p: int(p.findtext(f"{{{KA}}}restart-count") or 0) >= 1
    )
    assert pod.findtext(f"{{{KA}}}last-termination/{{{KA}}}exit-code") == "3"
    assert pod.findtext(f"{{{KA}}}last-termination/{{{KA}}}reason") == "Error"

    # Right after a restart the kubelet may not serve the ended run's log yet; it says so in
    # the log text itself, so ask again for a while.
    deadline, text = time.monotonic() + 30, ""
    while time.monotonic() < deadline and text != "bye":
        try:
            reply = rpc(device.manager, _action("crash", "<logs><previous>true</previous></logs>"))
        except RPCError as e:
            text = e.message  # "previous terminated container ... not found", for a moment
        else:
            text = reply.findtext(f".//{{{KA}}}text").strip()
        time.sleep(0.5)
    assert text == "bye"


def test_deleting_an_app_removes_its_deployment_and_pods(device: Device):
    device.edit(image_xml() + app_xml("web", WEB))
    device.wait_for_pod("web", lambda p: p.findtext(f"{{{KA}}}phase") == "Running")

    device.edit(f'<apps xmlns="{KA}"><app nc:operation="delete"><name>web</name></app></apps>')

    assert device.deployments() == set()
    assert device.core_api.list_namespaced_pod(device.namespace).items == []


def test_the_configuration_survives_a_restart_of_the_daemon(device: Device):
    device.edit(image_xml() + app_xml("web", WEB))
    before = device.get_config()

    device.restart()

    assert etree.tostring(device.get_config(), method="c14n") == etree.tostring(
        before, method="c14n"
    )
    assert device.deployments() == {"web"}


@pytest.mark.parametrize(
    ("bad", "tag", "path_end"),
    [
        (app_xml("Web", ""), "invalid-value", "ka:app[ka:name='Web']/ka:name"),
        (
            app_xml("web", "<port><name>p</name><container-port>70000</container-port></port>"),
            "invalid-value",
            "ka:port[ka:name='p']/ka:container-port",
        ),
        (
            app_xml("web", "<resources><memory-limit>lots</memory-limit></resources>"),
            "invalid-value",
            "ka:memory-limit",
        ),
        (
            app_xml(
                "web",
                "<volume><name>etc</name><host-path>/etc</host-path>"
                "<mount-path>/host-etc</mount-path></volume>",
            ),
            "invalid-value",
            "ka:volume[ka:name='etc']/ka:host-path",
        ),
    ],
    ids=["capital-name", "port-70000", "memory-lots", "host-path-outside"],
)
def test_bad_input_gets_an_rpc_error_and_changes_nothing(device: Device, bad, tag, path_end):
    device.edit(image_xml() + app_xml("keep", ""))
    before, deployments = device.get_config(), device.deployments()

    with pytest.raises(RPCError) as e:
        device.edit(bad)

    assert e.value.tag == tag
    assert e.value.path.endswith(path_end)
    assert etree.tostring(device.get_config(), method="c14n") == etree.tostring(
        before, method="c14n"
    )
    assert device.deployments() == deployments


def test_a_spec_the_api_server_rejects_is_an_rpc_error_and_the_commit_is_undone(device: Device):
    # The model bounds no env value; the API server refuses a request body beyond 3 MiB.
    huge = "x" * (3 * 1024 * 1024 + 1)
    with pytest.raises(RPCError) as e:
        device.edit(
            image_xml() + app_xml("huge", f"<env><name>BLOB</name><value>{huge}</value></env>")
        )

    assert e.value.tag == "too-big"
    assert e.value.path == "/ka:apps/ka:app[ka:name='huge']"
    assert device.deployments() == set()
    assert IMAGE not in device.images()
    assert device.get_config().find(f".//{{{KA}}}app") is None


def test_two_volumes_on_one_mount_path_are_refused_by_the_model(device: Device):
    volumes = "".join(
        f"<volume><name>v{i}</name><host-path>{device.volume_root}/v{i}</host-path>"
        f"<mount-path>/data</mount-path></volume>"
        for i in (1, 2)
    )
    with pytest.raises(RPCError) as e:
        device.edit(image_xml() + app_xml("twice", volumes))

    assert (e.value.tag, e.value.app_tag) == ("operation-failed", "data-not-unique")
    assert IMAGE not in device.images()


def test_removing_an_image_that_an_app_uses_is_refused(device: Device):
    device.edit(image_xml() + app_xml("web", WEB))

    with pytest.raises(RPCError) as e:
        rpc(device.manager, f'<remove-image xmlns="{KA}"><name>{IMAGE}</name></remove-image>')
    assert e.value.tag == "in-use"

    with pytest.raises(RPCError) as e:
        device.edit(
            f'<images xmlns="{KA}"><image nc:operation="delete"><name>{IMAGE}</name></image></images>'
        )
    assert e.value.tag == "data-missing"
    assert IMAGE in device.images()


def test_the_restart_action_replaces_the_pod(device: Device):
    device.edit(image_xml() + app_xml("web", WEB))
    first = device.wait_for_pod("web", lambda p: p.findtext(f"{{{KA}}}phase") == "Running")
    first_name = first.findtext(f"{{{KA}}}name")

    rpc(device.manager, _action("web", "<restart/>"))

    device.wait_for_pod(
        "web",
        lambda p: (
            p.findtext(f"{{{KA}}}name") != first_name and p.findtext(f"{{{KA}}}phase") == "Running"
        ),
    )


WEB = (
    "<env><name>GREETING</name><value>hello</value></env>"
    "<env><name>MODE</name><value>demo</value></env>"
    "<command>sh</command><args>-c</args><args>echo started; exec sleep 3600</args>"
    "<port><name>http</name><container-port>8080</container-port></port>"
    "<resources><cpu-limit>250</cpu-limit><memory-limit>67108864</memory-limit></resources>"
    "<termination-grace-period>1</termination-grace-period>"
)


def _action(app: str, body: str) -> str:
    return (
        f'<action xmlns="urn:ietf:params:xml:ns:yang:1"><apps xmlns="{KA}"><app>'
        f"<name>{app}</name>{body}</app></apps></action>"
    )


def test_create_of_an_app_that_exists_is_data_exists_and_leaves_it_as_it_was(device: Device):
    device.edit(image_xml() + app_xml("web", "<replicas>1</replicas>"))
    generation = device.apps_api.read_namespaced_deployment(
        "web", device.namespace
    ).metadata.generation

    with pytest.raises(RPCError) as e:
        device.edit(
            app_xml("web", "<replicas>2</replicas>").replace("<app>", '<app nc:operation="create">')
        )

    assert (e.value.type, e.value.tag) == ("application", "data-exists")
    deployment = device.apps_api.read_namespaced_deployment("web", device.namespace)
    assert (deployment.metadata.generation, deployment.spec.replicas) == (generation, 1)
