"""One daemon per state folder: a second one refuses to start instead of sharing the datastore."""

import subprocess

import pytest
from daemons import daemon_command

pytestmark = pytest.mark.protocol


def test_a_second_daemon_on_the_same_state_folder_refuses_to_start(start_daemon, tmp_path):
    start_daemon(tmp_path / "first")

    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "settings.toml").write_text(
        (tmp_path / "first" / "settings.toml")
        .read_text()
        .replace('state_dir = "state"', f'state_dir = "{tmp_path / "first" / "state"}"')
    )
    second = subprocess.run(
        [*daemon_command(), "--settings", str(tmp_path / "second" / "settings.toml")],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path / "second",
    )

    assert second.returncode == 1
    assert "already uses the state folder" in second.stdout + second.stderr
