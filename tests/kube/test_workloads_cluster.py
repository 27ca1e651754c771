"""Apps applied, restarted, read and deleted on the real local cluster."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest
from kubernetes import client

from k3s_netconf import errors
from k3s_netconf.desired import App, Port, Resources
from k3s_netconf.kube.connection import connect
from k3s_netconf.kube.watching import PodChange, WatchCache
from k3s_netconf.kube.workloads import Workloads
from k3s_netconf.observed import PodState
from k3s_netconf.settings import KubernetesSettings

pytestmark = pytest.mark.cluster

# Prints two lines, then idles; the trap lets it end at once on SIGTERM (sh as PID 1 would
# otherwise ignore the signal and wait out the grace period).
TALKER = (
    'echo "hello from $HOSTNAME"; echo second line; trap "exit 0" TERM; while :; do sleep 1; done'
)

READY_TIMEOUT = 90.0


def talker(image: str, name: str, **changes: object) -> App:
    app = App(name=name, image=image, command=("sh", "-c"), args=(TALKER,))
    return dataclasses.replace(app, termination_grace_period=5, **changes)


def live_pods(cache: WatchCache, app: str) -> list[PodState]:
    state = cache.apps().get(app)
    return [p for p in state.pods if not p.deleting] if state else []


def ready_pods(cache: WatchCache, app: str) -> list[PodState]:
    return [p for p in live_pods(cache, app) if p.ready and p.phase == "Running"]


def wait_ready(cache: WatchCache, app: str, count: int = 1) -> list[PodState]:
    ok = cache.wait_until(lambda: len(ready_pods(cache, app)) == count, READY_TIMEOUT)
    assert ok, f"{app} did not get {count} ready Pod(s): {cache.apps().get(app)}"
    return ready_pods(cache, app)


def settled(workloads: Workloads, name: str) -> dict:
    """The Deployment once its controller has caught up with it, so its status stays put."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        found = workloads.get_manifest(name)
        assert found is not None
        spec, status = found["spec"], found.get("status", {})
        if (
            status.get("observedGeneration") == found["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == spec["replicas"]
            and status.get("availableReplicas", 0) == spec["replicas"]
        ):
            return found
        time.sleep(0.2)
    raise AssertionError(f"the Deployment {name!r} did not settle")


def test_an_applied_app_runs_a_ready_pod_with_an_ip(
    workloads: Workloads,
    cache: WatchCache,
    busybox_image: str,
    record_timing: Callable[[str, float], None],
):
    started = time.monotonic()
    workloads.apply(talker(busybox_image, "web", ports=(Port("http", 8080),)))
    [pod] = wait_ready(cache, "web")
    record_timing("apply -> Pod Running and ready", time.monotonic() - started)

    assert pod.pod_ip is not None and pod.pod_ip.startswith("10.88.")
    assert pod.node == "localhost"
    assert pod.start_time is not None
    assert pod.container.state == "running"
    assert pod.container.started_at is not None
    assert pod.restart_count == 0
    assert cache.wait_until(lambda: cache.apps()["web"].ready_replicas == 1, 30)
    assert cache.apps()["web"].desired_replicas == 1
    assert "web" in workloads.owned_apps()


def test_applying_the_same_app_twice_changes_nothing(
    workloads: Workloads, cache: WatchCache, busybox_image: str
):
    # Quantities the API server rewrites in its own form (1000m becomes "1") must not count
    # as changes either.
    resources = Resources(cpu_request=50, cpu_limit=1000, memory_limit=64 * 1024 * 1024)
    app = talker(busybox_image, "steady", resources=resources)
    workloads.apply(app)
    wait_ready(cache, "steady")
    before = settled(workloads, "steady")

    workloads.apply(app)
    after = workloads.get_manifest("steady")

    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "50m"},
        "limits": {"cpu": "1", "memory": str(64 * 1024 * 1024)},
    }


def test_a_disabled_app_keeps_its_deployment_and_runs_no_pods(
    workloads: Workloads, cache: WatchCache, busybox_image: str
):
    app = talker(busybox_image, "sometimes")
    workloads.apply(app)
    wait_ready(cache, "sometimes")

    workloads.apply(dataclasses.replace(app, enabled=False))

    assert cache.wait_until(lambda: not cache.apps()["sometimes"].pods, READY_TIMEOUT)
    assert cache.apps()["sometimes"].desired_replicas == 0
    found = workloads.get_manifest("sometimes")
    assert found is not None and found["spec"]["replicas"] == 0


def test_deleting_an_app_removes_its_pods_and_its_deployment(
    workloads: Workloads,
    cache: WatchCache,
    busybox_image: str,
    record_timing: Callable[[str, float], None],
):
    workloads.apply(talker(busybox_image, "doomed"))
    wait_ready(cache, "doomed")

    started = time.monotonic()
    workloads.delete("doomed")
    record_timing("delete -> Pods gone", time.monotonic() - started)

    assert workloads.get_manifest("doomed") is None
    assert "doomed" not in workloads.owned_apps()
    assert cache.wait_until(lambda: "doomed" not in cache.apps(), 10)


def test_deleting_an_app_that_is_not_there_succeeds(workloads: Workloads):
    workloads.delete("never-applied")


def test_a_spec_the_api_server_refuses_is_an_invalid_value_with_its_message(
    workloads: Workloads, busybox_image: str
):
    # The model would refuse these; built directly, they reach the API server's validation.
    app = talker(
        busybox_image,
        "refused",
        ports=(Port("1234", 8080),),
        resources=Resources(memory_limit=-1),
    )

    with pytest.raises(errors.InvalidValue) as caught:
        workloads.apply(app)

    assert "must contain at least one letter" in caught.value.message
    assert "must be greater than or equal to 0" in caught.value.message
    assert caught.value.path == "/ka:apps/ka:app[ka:name='refused']"
    assert workloads.get_manifest("refused") is None


def test_an_unreachable_api_server_is_an_operation_failure(
    unreachable_settings: KubernetesSettings, busybox_image: str
):
    api_client = connect(unreachable_settings)
    workloads = Workloads(api_client, unreachable_settings)

    try:
        with pytest.raises(errors.OperationFailed) as caught:
            workloads.apply(talker(busybox_image, "nowhere"))
    finally:
        api_client.close()

    server = api_client.configuration.host
    assert server.startswith("https://127.0.0.1:")
    assert caught.value.message == (
        f"the Kubernetes API server at {server} is not reachable: connection refused"
    )


def test_restarting_an_app_replaces_its_pod_once(
    workloads: Workloads, cache: WatchCache, busybox_image: str
):
    app = talker(busybox_image, "phoenix")
    workloads.apply(app)
    [old] = wait_ready(cache, "phoenix")

    workloads.restart("phoenix")

    assert cache.wait_until(
        lambda: [p.name for p in ready_pods(cache, "phoenix")] not in ([], [old.name]),
        READY_TIMEOUT,
    )
    [new] = ready_pods(cache, "phoenix")
    # Applying the unchanged app afterwards must not undo the restart nor restart again.
    generation = settled(workloads, "phoenix")["metadata"]["generation"]
    workloads.apply(app)
    found = workloads.get_manifest("phoenix")
    assert found is not None and found["metadata"]["generation"] == generation
    assert [p.name for p in live_pods(cache, "phoenix")] == [new.name]


def test_restarting_an_app_without_a_deployment_fails_clearly(workloads: Workloads):
    with pytest.raises(errors.OperationFailed) as caught:
        workloads.restart("absent")

    assert "has no Deployment" in caught.value.message


def test_logs_return_the_last_lines_the_container_printed(
    workloads: Workloads, cache: WatchCache, busybox_image: str
):
    workloads.apply(talker(busybox_image, "chatty"))
    [pod] = wait_ready(cache, "chatty")

    name, text = workloads.logs("chatty", lines=10)
    _, last = workloads.logs("chatty", lines=1, pod=pod.name)

    assert name == pod.name
    assert text == f"hello from {pod.name}\nsecond line\n"
    assert last == "second line\n"


def test_logs_of_a_pod_of_another_app_are_refused(
    workloads: Workloads, cache: WatchCache, busybox_image: str
):
    workloads.apply(talker(busybox_image, "neighbour"))
    [pod] = wait_ready(cache, "neighbour")

    with pytest.raises(errors.InvalidValue):
        workloads.logs("chatty", lines=10, pod=pod.name)


def test_logs_of_an_app_without_pods_fail_clearly(workloads: Workloads):
    with pytest.raises(errors.OperationFailed) as caught:
        workloads.logs("absent", lines=10)

    assert "has no Pod" in caught.value.message


def test_a_crashing_container_shows_its_restarts_and_reason(
    workloads: Workloads, cache: WatchCache, busybox_image: str
):
    changes: list[PodChange] = []
    unsubscribe = cache.subscribe(lambda change: changes.append(change))
    app = App(name="crasher", image=busybox_image, command=("sh", "-c", "echo dying; exit 3"))

    try:
        workloads.apply(app)
        assert cache.wait_until(lambda: _restarts(cache, "crasher") >= 1, READY_TIMEOUT)
    finally:
        unsubscribe()

    [pod] = live_pods(cache, "crasher")
    assert pod.container.reason in ("CrashLoopBackOff", "Error")
    assert pod.last_termination is not None and pod.last_termination.exit_code == 3
    assert any(c.app == "crasher" and c.restarted for c in changes)
    assert workloads.logs("crasher", lines=5)[1] == "dying\n"

    # Once the kubelet holds the container back, its last run is the previous one.
    assert cache.wait_until(lambda: _waiting_reason(cache, "crasher") == "CrashLoopBackOff", 90)
    assert workloads.logs("crasher", lines=5, previous=True)[1] == "dying\n"


def test_a_pod_removed_behind_the_plugins_back_is_replaced(
    workloads: Workloads, cache: WatchCache, busybox_image: str, api_client: client.ApiClient
):
    workloads.apply(talker(busybox_image, "resilient"))
    [old] = wait_ready(cache, "resilient")

    client.CoreV1Api(api_client).delete_namespaced_pod(old.name, workloads.namespace)

    assert cache.wait_until(
        lambda: [p.name for p in ready_pods(cache, "resilient")] not in ([], [old.name]),
        READY_TIMEOUT,
    )


def _waiting_reason(cache: WatchCache, app: str) -> str | None:
    states = [p.container for p in live_pods(cache, app)]
    return states[0].reason if states and states[0].state == "waiting" else None


def _restarts(cache: WatchCache, app: str) -> int:
    return max((p.restart_count for p in live_pods(cache, app)), default=0)
