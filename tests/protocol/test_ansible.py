"""Ansible's netconf modules (ansible.netcommon) against the real daemon, without a cluster.

``ansible-playbook`` logs in with the ``ansible.netcommon.netconf`` connection, as an
operator's control node does. The daemon of these tests has no cluster, so the playbooks
here build in the candidate and never commit, or meet a commit the device refuses; the
playbook that runs an app to the end is in the end-to-end tier.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import connecting
from protocol.playbooks import HOST, run_playbook, task_results

pytestmark = pytest.mark.protocol

KA = "urn:k3s-netconf:yang:apps"
IMAGE = "docker.io/library/busybox:1.36"
VARIABLES = {"image": IMAGE, "archive": "busybox.tar", "app": "web"}


def apps_in(daemon, source: str) -> list[str]:
    with connecting.ncclient(daemon) as session:
        data = session.get_config(source).data_ele
    return [e.findtext(f"{{{KA}}}name") for e in data.iter(f"{{{KA}}}app")]


@pytest.mark.parametrize("login", ["password", "ed25519 key"])
def test_a_playbook_builds_an_app_in_the_candidate_reads_it_back_and_discards_it(
    start_daemon, tmp_path: Path, login: str
):
    daemon = start_daemon()
    key = daemon.keys["ed25519"] if login == "ed25519 key" else None

    run = run_playbook(daemon, "candidate.yml", tmp_path / "run", key=key, **VARIABLES)

    results = task_results(run)
    assert run["stats"][HOST]["failures"] == 0, results
    assert results["The candidate holds the app with its image"]["msg"] == "All assertions passed"
    assert results["The candidate is valid"]["msg"] == "All assertions passed"
    assert results["The candidate holds no app any more"]["msg"] == "All assertions passed"
    assert apps_in(daemon, "candidate") == []
    assert apps_in(daemon, "running") == []


def test_a_commit_the_device_refuses_fails_the_task_with_the_servers_message(
    start_daemon, tmp_path: Path
):
    daemon = start_daemon()

    run = run_playbook(daemon, "apps.yml", tmp_path / "run", **VARIABLES)

    configure = task_results(run)["Configure the image and the app"]
    assert configure.get("failed") is True
    # No archive and no containerd here: the server's rpc-error reaches the operator.
    assert "containerd" in configure["msg"] and "not reachable" in configure["msg"], configure
    assert run["stats"][HOST]["failures"] == 1
    assert apps_in(daemon, "running") == []
