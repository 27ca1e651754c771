"""A containerd daemon of its own for the image tests.

Debian's containerd runs as a child process with its own config, root, state and socket under
a temporary folder, so it never touches a containerd of the host. It is stopped by its pid,
after the tasks it runs, and its mounts are removed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

CONFIG = """\
version = 2
root = "{root}"
state = "{state}"
# The image tests need content, snapshots and runc tasks, not the kubelet's CRI.
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

# The default would create /opt/containerd on the host.
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
"""

START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
CTR_TIMEOUT = 120.0
MNT_DETACH = 2
# A unix socket path must fit in sockaddr_un.sun_path.
MAX_SOCKET_PATH = 100


@dataclass
class Containerd:
    """A running containerd started for the tests."""

    socket: str
    base: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def ctr(
        self, *args: str, namespace: str = "k8s.io", check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ctr against this daemon and return what it printed."""
        done = subprocess.run(
            ["ctr", "--address", self.socket, "-n", namespace, *args],
            capture_output=True,
            text=True,
            timeout=CTR_TIMEOUT,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(f"ctr {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done

    def image_refs(self, namespace: str = "k8s.io") -> set[str]:
        return set(self.ctr("images", "ls", "-q", namespace=namespace).stdout.split())

    def content_digests(self, namespace: str = "k8s.io") -> set[str]:
        return set(self.ctr("content", "ls", "-q", namespace=namespace).stdout.split())


def start(base: Path) -> Containerd:
    """Start containerd with everything under ``base``; fail the tests clearly if it cannot."""
    _require_tools()

    socket = str(base / "containerd.sock")
    if len(socket) > MAX_SOCKET_PATH:
        pytest.fail(
            f"socket path {socket!r} is too long for a unix socket; use a shorter --basetemp"
        )

    config = base / "config.toml"
    config.write_text(
        CONFIG.format(root=base / "root", state=base / "state", socket=socket, opt=base / "opt")
    )
    log = base / "containerd.log"

    with log.open("wb") as out:
        process = subprocess.Popen(
            ["containerd", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    daemon = Containerd(socket=socket, base=base, log=log, process=process)
    try:
        _wait_until_serving(daemon)
    except BaseException:
        stop(daemon)
        raise
    return daemon


def stop(daemon: Containerd) -> None:
    """End the daemon's tasks, stop the daemon by its pid and detach its mounts."""
    if daemon.process.poll() is None:
        _stop_tasks(daemon)

    daemon.process.terminate()
    try:
        daemon.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        daemon.process.kill()
        daemon.process.wait(timeout=STOP_TIMEOUT)

    _unmount_below(daemon.base)


def _require_tools() -> None:
    if os.geteuid() != 0:
        pytest.fail("the image tests start containerd, which needs root; run them as root")
    for tool in ("containerd", "ctr", "runc"):
        if shutil.which(tool) is None:
            pytest.fail(f"the image tests need {tool!r} on PATH (Debian: apt install containerd)")


def _wait_until_serving(daemon: Containerd) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    probe = ["ctr", "--address", daemon.socket, "version"]

    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            pytest.fail(
                f"containerd exited with {daemon.process.returncode} at start:\n{_tail(daemon.log)}"
            )
        serving = (
            os.path.exists(daemon.socket)
            and subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode == 0
        )
        if serving:
            return
        time.sleep(0.1)

    pytest.fail(
        f"containerd did not serve {daemon.socket} within {START_TIMEOUT:g} s:\n{_tail(daemon.log)}"
    )


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _stop_tasks(daemon: Containerd) -> None:
    # Running tasks keep their shims alive after the daemon stops, so end them first, by id.
    for namespace in daemon.ctr("namespaces", "ls", "-q", check=False).stdout.split():
        tasks = daemon.ctr("tasks", "ls", "-q", namespace=namespace, check=False)
        for task in tasks.stdout.split():
            daemon.ctr("tasks", "kill", "-s", "SIGKILL", task, namespace=namespace, check=False)
            daemon.ctr("tasks", "delete", "--force", task, namespace=namespace, check=False)

        containers = daemon.ctr("containers", "ls", "-q", namespace=namespace, check=False)
        for container in containers.stdout.split():
            daemon.ctr("containers", "delete", container, namespace=namespace, check=False)


def _unmount_below(base: Path) -> None:
    """Detach every mount under ``base``, deepest first."""
    prefix = str(base.resolve()) + "/"
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]

    libc = ctypes.CDLL(None, use_errno=True)
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        if libc.umount2(point.encode(), MNT_DETACH) != 0:
            error = os.strerror(ctypes.get_errno())
            print(f"could not unmount {point}: {error}", file=sys.stderr)
