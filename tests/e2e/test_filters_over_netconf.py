"""Filters and with-defaults on live state: a real app's Pods, read back through get."""

from __future__ import annotations

import pytest
from e2e_support import KA, Device, app_xml, image_xml

pytestmark = pytest.mark.cluster

APP = "<command>sh</command><args>-c</args><args>exec sleep 3600</args>"


def running(pod) -> bool:
    return pod.findtext(f"{{{KA}}}phase") == "Running"


def test_an_xpath_get_of_a_pods_phase_returns_it_with_the_keys_of_its_app_and_pod(
    device: Device,
):
    device.edit(image_xml() + app_xml("web", APP))
    pod = device.wait_for_pod("web", running)

    data = device.manager.get(
        filter=("xpath", ({"ka": KA}, "/ka:apps/ka:app[ka:name='web']/ka:state/ka:pod/ka:phase"))
    ).data_ele

    (app,) = data.iterfind(f"{{{KA}}}apps/{{{KA}}}app")
    assert [c.tag.split("}")[1] for c in app] == ["name", "state"]
    (found,) = app.iterfind(f"{{{KA}}}state/{{{KA}}}pod")
    assert [c.tag.split("}")[1] for c in found] == ["name", "phase"]
    assert found.findtext(f"{{{KA}}}name") == pod.findtext(f"{{{KA}}}name")
    assert found.findtext(f"{{{KA}}}phase") == "Running"


def test_a_subtree_get_with_report_all_shows_state_and_the_defaults_of_the_app(device: Device):
    device.edit(image_xml() + app_xml("web", APP))
    device.wait_for_pod("web", running)

    data = device.manager.get(
        filter=(
            "subtree",
            f'<apps xmlns="{KA}"><app><name>web</name><enabled/><replicas/><state/></app></apps>',
        ),
        with_defaults="report-all",
    ).data_ele

    (app,) = data.iterfind(f"{{{KA}}}apps/{{{KA}}}app")
    assert app.findtext(f"{{{KA}}}enabled") == "true"
    assert app.findtext(f"{{{KA}}}replicas") == "1"
    assert app.findtext(f"{{{KA}}}state/{{{KA}}}pod/{{{KA}}}phase") == "Running"
    assert app.find(f"{{{KA}}}image") is None
