"""Resource use read from the metrics API or the kubelet's summary, and an app's health."""

from __future__ import annotations

from datetime import UTC, datetime

from k3s_netconf import desired
from k3s_netconf.kube import health, usage
from k3s_netconf.observed import AppState, ContainerState, PodState

NAMESPACE = "k3s-netconf"


def test_the_metrics_api_figures_are_summed_over_a_pods_containers():
    pods = {
        "items": [
            {
                "metadata": {"name": "web-5d9c7b6f4-abcde", "namespace": NAMESPACE},
                "containers": [
                    {"name": "web", "usage": {"cpu": "250000000n", "memory": "10Mi"}},
                    {"name": "side", "usage": {"cpu": "5m", "memory": "1024Ki"}},
                ],
            }
        ]
    }
    node = {"metadata": {"name": "n"}, "usage": {"cpu": "1500m", "memory": "2Gi"}}

    sample = usage.metrics_usage(pods, node)

    assert sample.pods == {"web-5d9c7b6f4-abcde": (255, 11 * 2**20)}
    assert (sample.node_cpu, sample.node_memory) == (1500, 2 * 2**30)
    assert sample.source == "metrics-api"


def test_the_summary_keeps_only_the_pods_of_our_namespace():
    summary = {
        "node": {
            "nodeName": "n",
            "cpu": {"usageNanoCores": 812_000_000},
            "memory": {"workingSetBytes": 3_000_000_000},
        },
        "pods": [
            {
                "podRef": {"name": "burn-1-a", "namespace": NAMESPACE},
                "cpu": {"usageNanoCores": 99_900_000},
                "memory": {"workingSetBytes": 123456},
            },
            {
                "podRef": {"name": "other", "namespace": "kube-system"},
                "cpu": {"usageNanoCores": 1},
                "memory": {"workingSetBytes": 1},
            },
        ],
    }

    sample = usage.summary_usage(summary, NAMESPACE)

    assert sample.pods == {"burn-1-a": (99, 123456)}
    assert (sample.node_cpu, sample.node_memory) == (812, 3_000_000_000)


def test_an_apps_totals_add_up_its_pods_and_leave_unknown_pods_out():
    pods = (pod("web-1-a"), pod("web-1-b"), pod("web-1-c"))
    sample = usage.Usage(pods={"web-1-a": (100, 1000), "web-1-b": (20, 300)})

    joined = health.joined({"web": AppState("web", pods=pods)}, sample, [], per_app=5)["web"]

    assert (joined.cpu_usage, joined.memory_usage) == (120, 1300)
    assert [(p.cpu_usage, p.memory_usage) for p in joined.pods] == [
        (100, 1000),
        (20, 300),
        (None, None),
    ]


def test_an_app_without_a_sample_has_no_totals():
    joined = health.joined({"web": AppState("web", pods=(pod("web-1-a"),))}, usage.Usage(), [], 5)
    assert (joined["web"].cpu_usage, joined["web"].memory_usage) == (None, None)


def test_a_failed_liveness_probe_after_the_start_makes_liveness_failing():
    started = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    later = datetime(2026, 12, 4, 10, 1, tzinfo=UTC)
    events = [
        health.pod_event(
            raw_event("e1", "web-1-a", "Unhealthy", "Liveness probe failed: refused", later)
        ),
        health.pod_event(raw_event("e2", "web-1-a", "Started", "Started container web", started)),
    ]
    pods = (pod("web-1-a", ready=False, started_at=started),)

    state = health.joined({"web": AppState("web", pods=pods)}, usage.Usage(), events, 1)["web"]

    assert state.health.liveness == "failing"
    assert state.health.readiness == "failing"
    assert state.health.last_probe_failure == "Liveness probe failed: refused"
    assert state.health.last_probe_failure_at == later
    assert [e.name for e in state.health.events] == ["e1"]


def test_a_probe_failure_before_the_containers_start_leaves_liveness_passing():
    before = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    started = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    events = [
        health.pod_event(raw_event("e1", "web-1-a", "Unhealthy", "Liveness probe failed", before))
    ]
    pods = (pod("web-1-a", ready=True, started_at=started),)

    state = health.joined({"web": AppState("web", pods=pods)}, usage.Usage(), events, 5)["web"]

    assert (state.health.liveness, state.health.readiness) == ("passing", "passing")


def test_events_about_other_objects_than_pods_are_dropped():
    raw = raw_event("e1", "web-1", "ScalingReplicaSet", "Scaled up", None)
    raw["involvedObject"]["kind"] = "Deployment"
    assert health.pod_event(raw) is None


def pod(name: str, ready: bool = True, started_at: datetime | None = None) -> PodState:
    container = ContainerState(state="running", started_at=started_at)
    return PodState(name=name, app=name.split("-")[0], ready=ready, container=container)


def raw_event(name: str, pod_name: str, reason: str, message: str, when: datetime | None):
    return {
        "metadata": {"name": name, "namespace": NAMESPACE},
        "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": NAMESPACE},
        "reason": reason,
        "message": message,
        "type": "Warning" if reason == "Unhealthy" else "Normal",
        "count": 3,
        "lastTimestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None,
    }


def test_a_probe_the_app_does_not_configure_is_none():
    pods = (pod("web-1-a", ready=True),)
    state = health.joined({"web": AppState("web", pods=pods)}, usage.Usage(), [], 5)["web"]
    probe = desired.Probe(exec_command=("true",))
    app = desired.App(name="web", image="busybox", readiness_probe=probe)

    shown = health.configured_probes(state, app)

    assert (shown.health.readiness, shown.health.liveness) == ("passing", "none")


def test_the_kubelet_is_asked_at_the_nodes_hostname_and_kubelet_port():
    node = {
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": "192.0.2.2"},
                {"type": "Hostname", "address": "localhost"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        }
    }
    assert usage.kubelet_address(node) == "localhost:10250"

    only_ip = {"status": {"addresses": [{"type": "InternalIP", "address": "fd00::2"}]}}
    assert usage.kubelet_address(only_ip) == "[fd00::2]:10250"
