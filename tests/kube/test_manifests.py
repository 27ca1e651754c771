"""The Deployment built for an app, checked field by field without a cluster."""

from __future__ import annotations

import json

from k3s_netconf.desired import App, Port, Probe, Resources, Volume
from k3s_netconf.kube import manifests

NAMESPACE = "apps"


def full_app() -> App:
    return App(
        name="collector",
        image="docker.io/library/busybox:1.36",
        replicas=2,
        command=("sh", "-c"),
        args=("echo hi; sleep 3600",),
        env=(("MODE", "fast"), ("LEVEL", "3")),
        ports=(Port("snmp", 161, "udp"), Port("http", 8080)),
        resources=Resources(
            cpu_request=100,
            cpu_limit=1500,
            memory_request=64 * 1024 * 1024,
            memory_limit=128 * 1024 * 1024,
            ephemeral_storage_limit=10**9,
        ),
        volumes=(Volume("conf", "/cfg/collector//etc/", "/etc/collector", read_only=True),),
        liveness_probe=Probe(tcp_port=8080, initial_delay=5),
        readiness_probe=Probe(http_port=8080, http_path="/ready", period=3),
        termination_grace_period=7,
    )


def pod_spec_of(app: App) -> dict:
    return manifests.deployment(app, NAMESPACE)["spec"]["template"]["spec"]


def container_of(app: App) -> dict:
    return pod_spec_of(app)["containers"][0]


def test_the_deployment_is_named_after_the_app_and_lives_in_the_namespace():
    body = manifests.deployment(full_app(), NAMESPACE)

    assert (body["apiVersion"], body["kind"]) == ("apps/v1", "Deployment")
    assert body["metadata"]["name"] == "collector"
    assert body["metadata"]["namespace"] == NAMESPACE


def test_deployment_selector_and_pod_template_carry_the_plugin_labels():
    body = manifests.deployment(full_app(), NAMESPACE)
    expected = {
        "app.kubernetes.io/managed-by": "k3s-netconf",
        "app.kubernetes.io/name": "collector",
    }

    assert body["metadata"]["labels"] == expected
    assert body["spec"]["selector"] == {"matchLabels": expected}
    assert body["spec"]["template"]["metadata"]["labels"] == expected


def test_an_enabled_app_runs_its_configured_replicas():
    assert manifests.deployment(full_app(), NAMESPACE)["spec"]["replicas"] == 2


def test_a_disabled_app_scales_to_zero_replicas():
    app = App(name="idle", image="x:1", replicas=3, enabled=False)

    assert manifests.deployment(app, NAMESPACE)["spec"]["replicas"] == 0


def test_pods_are_recreated_rather_than_surged():
    assert manifests.deployment(full_app(), NAMESPACE)["spec"]["strategy"] == {"type": "Recreate"}


def test_images_are_never_pulled():
    assert container_of(full_app())["imagePullPolicy"] == "Never"


def test_the_container_is_named_after_the_app_and_runs_its_command_and_args():
    container = container_of(full_app())

    assert container["name"] == "collector"
    assert container["image"] == "docker.io/library/busybox:1.36"
    assert container["command"] == ["sh", "-c"]
    assert container["args"] == ["echo hi; sleep 3600"]


def test_environment_keeps_the_configured_order():
    assert container_of(full_app())["env"] == [
        {"name": "MODE", "value": "fast"},
        {"name": "LEVEL", "value": "3"},
    ]


def test_ports_carry_name_number_and_protocol_in_capitals():
    assert container_of(full_app())["ports"] == [
        {"name": "snmp", "containerPort": 161, "protocol": "UDP"},
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
    ]


def test_cpu_is_given_in_millicores_and_memory_and_storage_in_bytes():
    assert container_of(full_app())["resources"] == {
        "requests": {"cpu": "100m", "memory": "67108864"},
        "limits": {"cpu": "1500m", "memory": "134217728", "ephemeral-storage": "1000000000"},
    }


def test_unset_resources_leave_requests_and_limits_out():
    app = App(name="plain", image="x:1", resources=Resources(memory_limit=1024))

    assert container_of(app)["resources"] == {"limits": {"memory": "1024"}}
    assert container_of(App(name="bare", image="x:1"))["resources"] == {}


def test_host_path_volumes_are_normalized_and_mounted_read_only_when_asked():
    spec = pod_spec_of(full_app())

    assert spec["volumes"] == [
        {"name": "conf", "hostPath": {"path": "/cfg/collector/etc", "type": "DirectoryOrCreate"}},
    ]
    assert spec["containers"][0]["volumeMounts"] == [
        {"name": "conf", "mountPath": "/etc/collector", "readOnly": True},
    ]


def test_a_backstep_in_a_host_path_reaches_the_api_server_unresolved():
    # The API server refuses ".." in host paths: resolving it here would hide it.
    assert manifests.normalized_host_path("/cfg/./a/../../etc/") == "/cfg/a/../../etc"
    assert manifests.normalized_host_path("//cfg") == "/cfg"


def test_tcp_http_and_exec_probes_carry_their_timings():
    container = container_of(full_app())
    exec_probe = manifests.probe(Probe(exec_command=("cat", "/run/healthy"), timeout=2))

    assert container["livenessProbe"] == {
        "tcpSocket": {"port": 8080},
        "initialDelaySeconds": 5,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "failureThreshold": 3,
    }
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8080}
    assert container["readinessProbe"]["periodSeconds"] == 3
    assert exec_probe["exec"] == {"command": ["cat", "/run/healthy"]}
    assert exec_probe["timeoutSeconds"] == 2


def test_pods_get_no_api_token_no_service_links_and_no_host_namespaces():
    spec = pod_spec_of(full_app())

    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert (spec["hostNetwork"], spec["hostPID"], spec["hostIPC"]) == (False, False, False)
    assert spec["containers"][0]["securityContext"] == {"privileged": False}


def test_the_grace_period_is_the_apps():
    assert pod_spec_of(full_app())["terminationGracePeriodSeconds"] == 7


def test_a_minimal_app_lists_no_empty_fields():
    container = container_of(App(name="bare", image="x:1"))

    assert not {"command", "args", "env", "ports", "volumeMounts"} & set(container)
    assert "volumes" not in pod_spec_of(App(name="bare", image="x:1"))


def test_the_same_app_always_gives_the_same_manifest_text():
    first = json.dumps(manifests.deployment(full_app(), NAMESPACE))
    second = json.dumps(manifests.deployment(full_app(), NAMESPACE))

    assert first == second


def test_the_namespace_carries_the_managed_by_label():
    assert manifests.namespace_manifest("apps") == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "apps", "labels": {"app.kubernetes.io/managed-by": "k3s-netconf"}},
    }


def test_the_app_selector_picks_one_apps_objects_among_the_plugins():
    assert manifests.app_selector("collector") == (
        "app.kubernetes.io/managed-by=k3s-netconf,app.kubernetes.io/name=collector"
    )
