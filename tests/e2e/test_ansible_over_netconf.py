"""Ansible's netconf modules end to end: ansible-playbook, the real daemon, the local cluster.

The playbook ``tests/ansible/apps.yml`` configures an image and an app through the candidate
and a commit, reads them back with a filter, restarts the app through its YANG 1.1 action and
waits until ``<get>`` reports it ready; the test checks the outcome in the Kubernetes API too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_support import ARCHIVE, IMAGE, Device
from protocol.playbooks import HOST, run_playbook, task_results

from k3s_netconf.kube.manifests import RESTARTED_AT_ANNOTATION

pytestmark = pytest.mark.cluster

CONFIGURE = "Configure the image and the app"


def run_apps(device: Device, folder: Path) -> dict[str, Any]:
    return run_playbook(device.daemon, "apps.yml", folder, image=IMAGE, archive=ARCHIVE, app="web")


def test_the_playbook_runs_the_app_and_a_second_run_changes_no_configuration(
    device: Device, tmp_path: Path
):
    first = run_apps(device, tmp_path / "first")

    assert first["stats"][HOST]["failures"] == 0, task_results(first)
    assert task_results(first)[CONFIGURE]["changed"] is True
    deployment = device.apps_api.read_namespaced_deployment("web", device.namespace)
    (container,) = deployment.spec.template.spec.containers
    assert container.image == IMAGE
    assert [(e.name, e.value) for e in container.env] == [("GREETING", "hello")]
    assert RESTARTED_AT_ANNOTATION in (deployment.spec.template.metadata.annotations or {})

    second = run_apps(device, tmp_path / "second")

    assert second["stats"][HOST]["failures"] == 0, task_results(second)
    assert task_results(second)[CONFIGURE]["changed"] is False
    assert second["stats"][HOST]["changed"] == 0
    assert device.deployments() == {"web"}
