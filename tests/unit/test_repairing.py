"""How a Deployment found in the cluster differs from what running wants."""

from __future__ import annotations

import copy

from k3s_netconf.desired import App
from k3s_netconf.kube import manifests
from k3s_netconf.repairing import differences

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
