"""Commits of many apps performed by the executor, a few requests at a time, on the real cluster."""

from __future__ import annotations

import dataclasses

import pytest
from kubernetes import client

from k3s_netconf import errors
from k3s_netconf.desired import App, Config, Port
from k3s_netconf.executing import Executor
from k3s_netconf.kube import manifests
from k3s_netconf.kube.watching import WatchCache
from k3s_netconf.kube.workloads import Workloads
from k3s_netconf.planning import planner

pytestmark = pytest.mark.cluster

# More apps than workers, so that some wait for a free worker.
MANY = 12
WORKERS = 4
READY_TIMEOUT = 90.0

# Idles until SIGTERM, then ends at once.
IDLER = 'trap "exit 0" TERM; while :; do sleep 1; done'


def idle(image: str, name: str, **changes: object) -> App:
    # Disabled: a Deployment at zero replicas, which costs the shared node no Pod.
    app = App(name=name, image=image, enabled=False, command=("sh", "-c"), args=(IDLER,))
    return dataclasses.replace(app, termination_grace_period=5, **changes)


def config(*apps: App) -> Config:
    return Config(apps={app.name: app for app in apps})


def executor(workloads: Workloads) -> Executor:
    # The commits here change apps only: neither images nor forwarding is ever reached.
    return Executor(None, lambda: workloads, None, None, concurrency=WORKERS)  # type: ignore[arg-type]


def commit(workloads: Workloads, old: Config, new: Config) -> None:
    executor(workloads).run(planner.plan(old, new, set()))


def env_of(workloads: Workloads, name: str) -> list[dict[str, str]]:
    found = workloads.get_manifest(name)
    assert found is not None, f"no Deployment {name!r}"
    return found["spec"]["template"]["spec"]["containers"][0].get("env", [])


def test_a_commit_of_many_apps_applies_every_one(workloads: Workloads, busybox_image: str):
    apps = [idle(busybox_image, f"many-{i:02d}") for i in range(MANY)]

    commit(workloads, Config(), config(*apps))

    assert {a.name for a in apps} <= workloads.owned_apps()
    commit(workloads, config(*apps), Config())
    assert not {a.name for a in apps} & workloads.owned_apps()


def test_an_app_the_api_server_refuses_leaves_none_of_the_commits_deployments_behind(
    workloads: Workloads, busybox_image: str
):
    kept = idle(busybox_image, "kept", env=(("MODE", "before"),))
    changed = idle(busybox_image, "changed", env=(("MODE", "before"),))
    old = config(kept, changed)
    commit(workloads, Config(), old)
    # The generation counts changes of the spec only: the controller's status updates, which
    # go on after the apply, change the resourceVersion too.
    kept_generation = workloads.get_manifest("kept")["metadata"]["generation"]

    # The model would refuse a port name without a letter; built directly, it reaches the API
    # server's validation. It comes first, so that the apps after it are in flight when it
    # fails: they succeed, and must be undone all the same.
    refused = idle(busybox_image, "refused-one", ports=(Port("1234", 8080),))
    added = [idle(busybox_image, f"added-{i:02d}") for i in range(MANY)]
    new_apps = [refused, *added]
    new = config(refused, kept, dataclasses.replace(changed, env=(("MODE", "after"),)), *added)

    with pytest.raises(errors.InvalidValue) as caught:
        commit(workloads, old, new)

    assert caught.value.path == "/ka:apps/ka:app[ka:name='refused-one']"
    assert "must contain at least one letter" in caught.value.message
    assert workloads.owned_apps() >= {"kept", "changed"}
    assert not workloads.owned_apps() & {a.name for a in new_apps}
    assert env_of(workloads, "changed") == [{"name": "MODE", "value": "before"}]
    assert workloads.get_manifest("kept")["metadata"]["generation"] == kept_generation

    commit(workloads, old, Config())


def test_deleting_many_apps_returns_once_their_pods_are_gone(
    workloads: Workloads, cache: WatchCache, busybox_image: str, api_client: client.ApiClient
):
    # Few Pods, as the node is shared; still more apps than one request at a time.
    running = [idle(busybox_image, f"gone-{i}", enabled=True) for i in range(3)]
    disabled = [idle(busybox_image, f"gone-off-{i}") for i in range(3)]
    apps = config(*running, *disabled)
    commit(workloads, Config(), apps)
    for app in running:
        ready = cache.wait_until(lambda name=app.name: _ready(cache, name), READY_TIMEOUT)
        assert ready, f"{app.name} did not get a ready Pod: {cache.apps().get(app.name)}"

    commit(workloads, apps, Config())

    selector = manifests.apps_selector([a.name for a in running])
    left = client.CoreV1Api(api_client).list_namespaced_pod(
        workloads.namespace, label_selector=selector, _request_timeout=10
    )
    assert [p.metadata.name for p in left.items] == []
    assert not workloads.owned_apps() & set(apps.apps)


def test_waiting_for_the_pods_of_apps_that_have_none_returns_at_once(workloads: Workloads):
    assert workloads.wait_until_no_pods([f"never-{i}" for i in range(250)]) == {}
    assert workloads.wait_until_no_pods([]) == {}


def _ready(cache: WatchCache, name: str) -> bool:
    state = cache.apps().get(name)
    return state is not None and any(p.ready and not p.deleting for p in state.pods)
