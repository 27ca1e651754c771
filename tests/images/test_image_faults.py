"""containerd dying under an import: a containerd of this test's own, killed by its pid."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import containerd_daemon
import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError
from oci_archives import MkImage
from protocol.connecting import ncclient

from k3s_netconf import errors
from k3s_netconf.images import ImageStore

pytestmark = pytest.mark.images

REF = "docker.io/library/faulty:1.0"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
# Large enough that ctr is still streaming it when the test sees ctr start.
PAYLOAD_BYTES = 96 * 1024 * 1024
WAIT_SECONDS = 30.0
# ctr either fails as soon as containerd dies or waits for a containerd on the same socket to
# come back, which it does only after the wait here: the import is given up after this long.
IMPORT_SECONDS = 5.0


def test_containerd_killed_during_an_import_gives_a_clear_error_and_no_image(
    tmp_path_factory: pytest.TempPathFactory, mkimage: MkImage, tmp_path: Path
):
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(PAYLOAD_BYTES))
    archive = mkimage(REF, "--add", f"{payload}:/payload")
    base = tmp_path_factory.mktemp("ctrd-fault")
    daemon = containerd_daemon.start(base)
    store = ImageStore(daemon.socket, timeout=30.0, import_timeout=IMPORT_SECONDS)
    outcome: list[BaseException | object] = []

    importing = threading.Thread(target=_import, args=(store, archive, outcome))
    importing.start()
    try:
        _wait_for_ctr_import(os.getpid())
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


def test_containerd_killed_during_a_commit_leaves_running_unchanged_and_no_image(
    tmp_path_factory: pytest.TempPathFactory, mkimage: MkImage, tmp_path: Path, start_daemon
):
    images = tmp_path / "images"
    images.mkdir()
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(PAYLOAD_BYTES))
    mkimage(REF, "--add", f"{payload}:/payload", out=images / "faulty.tar")
    base = tmp_path_factory.mktemp("ctrd-commit")
    containerd = containerd_daemon.start(base)
    daemon = start_daemon(
        images={
            "containerd_address": containerd.socket,
            "folder": str(images),
            "import_timeout": IMPORT_SECONDS,
        }
    )
    session = ncclient(daemon)
    before = etree.tostring(session.get_config("running").data_ele, method="c14n")
    outcome: list[BaseException | object] = []

    committing = threading.Thread(target=_commit_image, args=(session, outcome))
    committing.start()
    try:
        _wait_for_ctr_import(daemon.process.pid)
        os.kill(containerd.pid, signal.SIGKILL)
        committing.join(WAIT_SECONDS)
    finally:
        containerd.process.wait(WAIT_SECONDS)
        containerd = containerd_daemon.start(base)

    try:
        assert len(outcome) == 1
        failure = outcome[0]
        assert isinstance(failure, RPCError)
        assert failure.tag == "operation-failed"
        assert "importing archive" in failure.message and "faulty.tar" in failure.message
        # The same session still answers, with running as it was.
        after = etree.tostring(session.get_config("running").data_ele, method="c14n")
        assert after == before
        assert REF not in containerd.image_refs()
    finally:
        session.close_session()
        containerd_daemon.stop(containerd)


def _commit_image(session, outcome: list[BaseException | object]) -> None:
    image = f'<images xmlns="{KA}"><image><name>{REF}</name><archive>faulty.tar</archive></image></images>'
    try:
        outcome.append(
            session.edit_config(target="running", config=f'<config xmlns="{NC}">{image}</config>')
        )
    except RPCError as e:
        outcome.append(e)


def _import(store: ImageStore, archive: Path, outcome: list[BaseException | object]) -> None:
    try:
        outcome.append(store.import_archive(REF, archive))
    except Exception as e:  # noqa: BLE001
        outcome.append(e)


def _wait_for_ctr_import(parent: int) -> None:
    """Until a ctr child of ``parent`` runs an import; fails after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if any(_is_import_of(parent, entry) for entry in Path("/proc").iterdir()):
            return
        time.sleep(0.01)
    raise AssertionError(f"no ctr import started in {WAIT_SECONDS} s")


def _is_import_of(parent_pid: int, entry: Path) -> bool:
    if not entry.name.isdigit():
        return False
    try:
        words = (entry / "cmdline").read_bytes().split(b"\0")
        parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
    except OSError:
        return False
    return int(parent) == parent_pid and b"ctr" in words[0] and b"import" in words
