"""Admission of a configuration against the node's allocatable CPU and memory less a reserve."""

from __future__ import annotations

import pytest

from k3s_netconf import admission, desired, errors
from k3s_netconf.observed import NodeState
from k3s_netconf.settings import ResourceSettings

NODE = NodeState(name="n", allocatable_cpu=2000, allocatable_memory=4 * 2**30)
RESERVE = ResourceSettings(reserve_cpu=500, reserve_memory=2**30)


def config(*apps: desired.App) -> desired.Config:
    return desired.Config(apps={a.name: a for a in apps})


def app(name: str, cpu: int | None = None, memory: int | None = None, **kw) -> desired.App:
    resources = desired.Resources(cpu_request=cpu, memory_request=memory)
    return desired.App(name=name, image="busybox", resources=resources, **kw)


def test_apps_within_the_node_less_the_reserve_are_admitted():
    new = config(app("a", cpu=1000, memory=2**30), app("b", cpu=500, memory=2 * 2**30))
    admission.check(config(), new, NODE, RESERVE)


def test_cpu_past_the_reserve_is_refused_at_the_app_that_grew_with_all_figures():
    old = config(app("a", cpu=1000))
    new = config(app("a", cpu=1000), app("b", cpu=600))

    with pytest.raises(errors.ResourceDenied) as refused:
        admission.check(old, new, NODE, RESERVE)

    assert refused.value.tag == "resource-denied"
    assert refused.value.path == "/ka:apps/ka:app[ka:name='b']"
    message = refused.value.message
    assert "1600 millicores of CPU" in message
    assert "can spare 1500 millicores" in message
    assert "2000 allocatable less 500 reserved" in message


def test_memory_counts_every_replica():
    new = config(app("a", memory=2**30, replicas=4))

    with pytest.raises(errors.ResourceDenied) as refused:
        admission.check(config(), new, NODE, RESERVE)
    assert f"{4 * 2**30} bytes of memory" in refused.value.message


def test_disabled_apps_request_nothing():
    new = config(app("a", cpu=5000, enabled=False))
    admission.check(config(), new, NODE, RESERVE)


def test_a_commit_that_lowers_requests_is_admitted_even_when_the_node_shrank():
    old = config(app("a", cpu=3000))
    new = config(app("a", cpu=2500))
    admission.check(old, new, NODE, RESERVE)


def test_an_unknown_node_admits_everything():
    admission.check(config(), config(app("a", cpu=10**6)), NodeState(), RESERVE)
