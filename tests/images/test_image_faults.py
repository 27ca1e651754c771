"""containerd dying under an import: a containerd of this test's own, killed by its pid."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import containerd_daemon
import pytest
from oci_archives import MkImage

from k3s_netconf import errors
from k3s_netconf.images import ImageStore

pytestmark = pytest.mark.images

REF = "docker.io/library/faulty:1.0"
# Large enough that ctr is still streaming it when the test sees ctr start.
PAYLOAD_BYTES = 96 * 1024 * 1024
WAIT_SECONDS = 30.0


def test_containerd_killed_during_an_import_gives_a_clear_error_and_no_image(
    tmp_path_factory: pytest.TempPathFactory, mkimage: MkImage, tmp_path: Path
):
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(PAYLOAD_BYTES))
    archive = mkimage(REF, "--add", f"{payload}:/payload")
    base = tmp_path_factory.mktemp("ctrd-fault")
    daemon = containerd_daemon.start(base)
    store = ImageStore(daemon.socket, timeout=30.0, import_timeout=60.0)
    outcome: list[BaseException | object] = []

    importing = threading.Thread(target=_import, args=(store, archive, outcome))
    importing.start()
    try:
        _wait_for_ctr_import()
        os.kill(daemon.pid, signal.SIGKILL)
        importing.join(WAIT_SECONDS)
    finally:
        daemon.process.wait(WAIT_SECONDS)
        # Back on the same root, containerd tells what the import left behind.
        daemon = containerd_daemon.start(base)

    try:
        assert len(outcome) == 1
        failure = outcome[0]
        assert isinstance(failure, errors.OperationFailed)
        assert f"importing archive {str(archive)!r} failed" in failure.message
        assert REF not in daemon.image_refs()
    finally:
        containerd_daemon.stop(daemon)


def _import(store: ImageStore, archive: Path, outcome: list[BaseException | object]) -> None:
    try:
        outcome.append(store.import_archive(REF, archive))
    except Exception as e:  # noqa: BLE001
        outcome.append(e)


def _wait_for_ctr_import() -> None:
    """Until a ctr of this test's process runs an import; fails after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if any(_is_our_import(entry) for entry in Path("/proc").iterdir()):
            return
        time.sleep(0.01)
    raise AssertionError(f"no ctr import started in {WAIT_SECONDS} s")


def _is_our_import(entry: Path) -> bool:
    if not entry.name.isdigit():
        return False
    try:
        words = (entry / "cmdline").read_bytes().split(b"\0")
        parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
    except OSError:
        return False
    return int(parent) == os.getpid() and b"ctr" in words[0] and b"import" in words
