"""A confirmed commit on the local cluster: what it adds goes away again unless confirmed."""

from __future__ import annotations

import time

import pytest
from e2e_support import IMAGE, KA, NC, Device, app_xml, image_xml

pytestmark = pytest.mark.cluster

# Bounds of the wait for the rollback: seconds (it deletes a Deployment and waits for its
# Pods to go), and polls in between.
ROLLBACK_WAIT = 120.0
POLL_SECONDS = 0.5


def test_an_app_of_an_unconfirmed_commit_loses_its_deployment_when_the_timeout_passes(
    device: Device,
):
    # The image is committed plainly first, so the rollback removes the app and nothing else.
    device.edit(image_xml())
    body = image_xml() + app_xml("probation", "")
    device.manager.edit_config(target="candidate", config=f'<config xmlns="{NC}">{body}</config>')

    assert device.manager.commit(confirmed=True, timeout="3").ok
    assert "probation" in device.deployments()

    # Running loses the app once the rollback's steps are done, the Deployment's deletion too.
    deadline = time.monotonic() + ROLLBACK_WAIT
    while time.monotonic() < deadline and configured_apps(device):
        time.sleep(POLL_SECONDS)

    assert configured_apps(device) == []
    assert "probation" not in device.deployments()
    # The image committed before the confirmed commit stays configured.
    assert [i.findtext(f"{{{KA}}}name") for i in device.get_config().iter(f"{{{KA}}}image")] == [
        IMAGE
    ]


def configured_apps(device: Device) -> list[str]:
    return [a.findtext(f"{{{KA}}}name") for a in device.get_config().iter(f"{{{KA}}}app")]
