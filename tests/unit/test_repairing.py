"""How a Deployment found in the cluster differs from what running wants, and when to look."""

from __future__ import annotations

import copy
import threading

from k3s_netconf.desired import App, Config
from k3s_netconf.kube import manifests, states
from k3s_netconf.repairing import Repairs, differences

APP = App(name="web", image="localhost/web:1", replicas=2)


def test_a_deployment_as_applied_differs_in_nothing():
    assert differences(APP, "ns", manifests.deployment(APP, "ns")) == ""


def test_a_missing_deployment_was_deleted():
    assert differences(APP, "ns", None) == "it was deleted"


def test_changed_replicas_and_image_are_both_named():
    found = copy.deepcopy(manifests.deployment(APP, "ns"))
    found["spec"]["replicas"] = 5
    found["spec"]["template"]["spec"]["containers"][0]["image"] = "localhost/other:1"

    assert differences(APP, "ns", found) == (
        "replicas 5 instead of 2; images ['localhost/other:1'] instead of ['localhost/web:1']"
    )


def test_a_status_the_cluster_added_is_no_difference():
    found = copy.deepcopy(manifests.deployment(APP, "ns"))
    found["status"] = {"readyReplicas": 1}

    assert differences(APP, "ns", found) == ""


# What the repair thread does with the watch's news. Doubles of running and of the
# Deployments' endpoint: the question is which requests a repair makes, not their answers.


class RunningDouble:
    config = Config(apps={"web": APP})


class WorkloadsDouble:
    namespace = "ns"

    def __init__(self, found: dict | None) -> None:
        self.found = found
        self.reads: list[str] = []
        self.applied: list[App] = []

    def get_manifest(self, name: str) -> dict | None:
        self.reads.append(name)
        return self.found

    def apply(self, app: App) -> None:
        self.applied.append(app)


def repairs_over(workloads: WorkloadsDouble) -> Repairs:
    return Repairs(RunningDouble(), lambda: workloads, threading.Lock())  # type: ignore[arg-type]


def test_news_of_the_plugins_own_apply_asks_the_api_server_nothing():
    workloads = WorkloadsDouble(manifests.deployment(APP, "ns"))
    repairs_over(workloads).repair("web", states.deployment(manifests.deployment(APP, "ns")))
    assert workloads.reads == []
    assert workloads.applied == []


def test_news_of_other_replicas_is_read_afresh_and_repaired_if_still_so():
    scaled = copy.deepcopy(manifests.deployment(APP, "ns"))
    scaled["spec"]["replicas"] = 5
    workloads = WorkloadsDouble(scaled)
    repairs_over(workloads).repair("web", states.deployment(scaled))
    assert workloads.reads == ["web"]
    assert workloads.applied == [APP]


def test_stale_news_is_read_afresh_and_left_when_the_deployment_is_right_again():
    scaled = copy.deepcopy(manifests.deployment(APP, "ns"))
    scaled["spec"]["replicas"] = 5
    workloads = WorkloadsDouble(manifests.deployment(APP, "ns"))
    repairs_over(workloads).repair("web", states.deployment(scaled))
    assert workloads.reads == ["web"]
    assert workloads.applied == []


def test_news_of_a_deletion_is_read_afresh_and_repaired():
    workloads = WorkloadsDouble(None)
    repairs_over(workloads).repair("web", None)
    assert workloads.applied == [APP]
