"""How the tests start ``k3s-netconfd``: the command of the environment pytest runs in."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def daemon_command() -> list[str]:
    beside = Path(sys.executable).parent / "k3s-netconfd"
    found = str(beside) if beside.exists() else shutil.which("k3s-netconfd")
    return [found] if found else [sys.executable, "-m", "k3s_netconf.cli"]
