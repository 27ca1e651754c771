"""The ``device`` fixture: a daemon of the test's own, managing a namespace of its own."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_support import ARCHIVE, IMAGE, Device, close_device, make_device

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def e2e_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = tmp_path_factory.mktemp("e2e-image") / ARCHIVE
    subprocess.run(
        [str(REPO / "tools" / "mkimage"), "--ref", IMAGE, "--out", str(archive), "--busybox"],
        check=True,
        timeout=120,
    )
    return archive


@pytest.fixture
def device(
    cluster,
    start_daemon: Callable[..., object],
    e2e_archive: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Device]:
    settings = getattr(request.module, "DAEMON_SETTINGS", {})
    device = make_device(cluster, cluster.kubeconfig, start_daemon, e2e_archive, tmp_path, settings)
    device.launch()
    yield device
    close_device(device)
