"""Running Ansible playbooks against a test daemon, as an operator's control node would.

``ansible-playbook`` runs as a subprocess from the environment the tests run in, with the
``ansible.netcommon.netconf`` connection (ncclient underneath) and an inventory written for
the daemon. Its JSON callback output is returned parsed, so tests read each task's result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PLAYBOOKS = Path(__file__).resolve().parents[1] / "ansible"
HOST = "device"
RUN_TIMEOUT = 300


def run_playbook(
    daemon: Any, playbook: str, folder: Path, key: Path | None = None, **variables: str
) -> dict[str, Any]:
    """Run ``tests/ansible/<playbook>`` against ``daemon``; the JSON callback's output.

    Ansible logs in with the daemon's password, or with the private ``key`` file when given.
    """
    folder.mkdir(parents=True, exist_ok=True)
    inventory = folder / "inventory.json"
    inventory.write_text(json.dumps(_inventory(daemon, key)))

    program = Path(sys.executable).parent / "ansible-playbook"
    done = subprocess.run(
        [
            str(program),
            "-i",
            str(inventory),
            "-e",
            json.dumps(variables),
            str(PLAYBOOKS / playbook),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env=_environment(folder),
        cwd=folder,
    )
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(
            f"ansible-playbook printed no JSON:\n{done.stdout}\n{done.stderr}"
        ) from e


def task_results(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each task's result on the device, by the task's name."""
    return {
        task["task"]["name"]: task["hosts"][HOST]
        for play in run["plays"]
        for task in play["tasks"]
        if HOST in task["hosts"]
    }


def _inventory(daemon: Any, key: Path | None) -> dict[str, Any]:
    login = {"ansible_private_key_file": str(key)} if key else {"ansible_password": daemon.password}
    device = {
        **login,
        "ansible_host": daemon.host,
        "ansible_port": daemon.port,
        "ansible_user": daemon.user,
        "ansible_connection": "ansible.netcommon.netconf",
        "ansible_network_os": "default",
        # Modules run on the control node: with the interpreter that has ncclient.
        "ansible_python_interpreter": sys.executable,
    }
    return {"all": {"hosts": {HOST: device}}}


def _environment(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_STDOUT_CALLBACK": "json",
        # The daemon's host key is new for every test run.
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        # Nothing of Ansible's own state outside the test's folder.
        "ANSIBLE_HOME": str(folder / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(folder / "ansible-tmp"),
        "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": str(folder / "ansible-pc"),
        # A commit that deletes an app waits for its Pods to go.
        "ANSIBLE_PERSISTENT_COMMAND_TIMEOUT": "120",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        # Ansible refuses to start under a locale whose encoding is not UTF-8.
        "LC_ALL": "C.UTF-8",
    }
