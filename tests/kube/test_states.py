"""Pods, Deployments and Nodes as the API server sends them, turned into observed values."""

from __future__ import annotations

from datetime import UTC, datetime

from k3s_netconf.kube import states
from k3s_netconf.observed import ContainerState, Termination

CRASHING_POD = {
    "metadata": {
        "name": "crasher-5d9c7b8f4-abcde",
        "labels": {
            "app.kubernetes.io/name": "crasher",
            "app.kubernetes.io/managed-by": "k3s-netconf",
        },
    },
    "spec": {"nodeName": "localhost"},
    "status": {
        "phase": "Running",
        "podIP": "10.88.0.7",
        "startTime": "2026-12-03T16:20:12Z",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [
            {
                "name": "crasher",
                "restartCount": 3,
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 40s restarting failed container",
                    }
                },
                "lastState": {
                    "terminated": {
                        "reason": "Error",
                        "exitCode": 3,
                        "startedAt": "2026-12-03T16:21:00Z",
                        "finishedAt": "2026-12-03T16:21:01Z",
                    }
                },
            }
        ],
    },
}


def test_a_crashing_pod_shows_its_restarts_waiting_reason_and_last_exit():
    pod = states.pod_state(CRASHING_POD)

    assert (pod.name, pod.app, pod.phase) == ("crasher-5d9c7b8f4-abcde", "crasher", "Running")
    assert (pod.pod_ip, pod.node, pod.ready) == ("10.88.0.7", "localhost", False)
    assert pod.start_time == datetime(2026, 12, 3, 16, 20, 12, tzinfo=UTC)
    assert pod.restart_count == 3
    assert pod.container == ContainerState(
        state="waiting",
        reason="CrashLoopBackOff",
        message="back-off 40s restarting failed container",
    )
    assert pod.last_termination == Termination(
        reason="Error", exit_code=3, finished_at=datetime(2026, 12, 3, 16, 21, 1, tzinfo=UTC)
    )
    assert pod.deleting is False


def test_a_pod_not_yet_scheduled_has_no_node_ip_or_container_state():
    pod = states.pod_state(
        {"metadata": {"name": "p", "deletionTimestamp": "2026-12-03T16:20:12Z"}, "status": {}}
    )

    assert (pod.app, pod.phase, pod.pod_ip, pod.node, pod.start_time) == (
        "",
        None,
        None,
        None,
        None,
    )
    assert pod.container == ContainerState()
    assert pod.last_termination is None
    assert pod.deleting is True


def test_a_running_container_reports_when_it_started():
    state = states.container_state({"running": {"startedAt": "2026-12-03T16:20:13Z"}})

    assert state.state == "running"
    assert state.started_at == datetime(2026, 12, 3, 16, 20, 13, tzinfo=UTC)


def test_an_oom_killed_container_reports_reason_and_exit_code():
    state = states.container_state({"terminated": {"reason": "OOMKilled", "exitCode": 137}})

    assert (state.state, state.reason, state.exit_code) == ("terminated", "OOMKilled", 137)


def test_a_deployment_gives_desired_and_ready_replicas():
    assert states.replicas({"spec": {"replicas": 2}, "status": {"readyReplicas": 1}}) == (2, 1)
    assert states.replicas({"spec": {"replicas": 0}, "status": {}}) == (0, 0)


def test_a_node_gives_version_readiness_and_allocatable_figures_in_base_units():
    node = states.node_state(
        {
            "metadata": {"name": "localhost"},
            "status": {
                "nodeInfo": {"kubeletVersion": "v1.34.2"},
                "conditions": [{"type": "Ready", "status": "True"}],
                "allocatable": {"cpu": "3800m", "memory": "16Gi", "ephemeral-storage": "1e9"},
            },
        }
    )

    assert (node.name, node.kubernetes_version, node.ready) == ("localhost", "v1.34.2", True)
    assert node.allocatable_cpu == 3800
    assert node.allocatable_memory == 16 * 1024**3
    assert node.allocatable_ephemeral_storage == 10**9
