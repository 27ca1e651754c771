"""The candidate and startup datastores end to end, on the local cluster."""

from __future__ import annotations

import time

import pytest
from e2e_support import IMAGE, KA, NC, Device, app_xml, image_xml
from lxml import etree
from ncclient.operations import RPCError

pytestmark = pytest.mark.cluster

# A real Deployment at zero replicas: no Pod to wait for.
IDLE = "<enabled>false</enabled>"


def edit_candidate(device: Device, body: str) -> None:
    device.manager.edit_config(
        target="candidate", config=f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>'
    )


def apps_in(data: etree._Element) -> set[str]:
    return {a.findtext(f"{{{KA}}}name") for a in data.iterfind(f".//{{{KA}}}app")}


def candidate(device: Device) -> etree._Element:
    return etree.fromstring(device.manager.get_config("candidate").data_xml.encode())


def test_an_app_edited_in_the_candidate_becomes_a_deployment_only_at_commit(device: Device):
    edit_candidate(device, image_xml() + app_xml("web", IDLE))
    assert device.deployments() == set()
    assert apps_in(device.get_config()) == set()

    assert device.manager.commit().ok

    assert device.deployments() == {"web"}
    assert IMAGE in device.images()
    assert apps_in(device.get_config()) == {"web"}
    assert apps_in(candidate(device)) == {"web"}


def test_a_commit_the_api_server_refuses_changes_nothing_and_keeps_the_candidate(
    device: Device,
):
    device.edit(image_xml() + app_xml("web", IDLE))
    # The model bounds no env value; the API server refuses a request body beyond 3 MiB.
    huge = "x" * (3 * 1024 * 1024 + 1)
    edit_candidate(device, app_xml("huge", f"<env><name>BLOB</name><value>{huge}</value></env>"))

    with pytest.raises(RPCError) as e:
        device.manager.commit()

    assert e.value.tag == "too-big"
    assert device.deployments() == {"web"}
    assert apps_in(device.get_config()) == {"web"}
    assert apps_in(candidate(device)) == {"web", "huge"}


def test_apps_saved_to_startup_come_back_after_a_restart_without_running_xml(device: Device):
    device.edit(image_xml() + app_xml("web", IDLE))
    assert device.manager.copy_config(source="running", target="startup").ok
    # Committed after the save, so not part of what a restart brings back.
    device.edit(app_xml("later", IDLE))
    assert device.deployments() == {"web", "later"}

    device.manager.close_session()
    assert device.daemon.stop() == 0
    (device.folder / "state" / "running.xml").unlink()
    # Gone from the cluster too, so only the startup configuration can bring it back.
    device.apps_api.delete_namespaced_deployment("web", device.namespace)
    device.launch()

    assert apps_in(device.get_config()) == {"web"}
    assert _eventually(lambda: device.deployments() == {"web"})


def _eventually(check, within: float = 60.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()
