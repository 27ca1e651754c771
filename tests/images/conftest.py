"""Fixtures of the image tests: a real containerd, an image store on it, mkimage archives."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import containerd_daemon
import pytest
from containerd_daemon import Containerd
from oci_archives import MKIMAGE, MkImage

from k3s_netconf.images import ImageStore


@pytest.fixture(scope="session")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd]:
    """One containerd daemon for the whole test run."""
    daemon = containerd_daemon.start(tmp_path_factory.mktemp("containerd"))
    try:
        yield daemon
    finally:
        containerd_daemon.stop(daemon)


@pytest.fixture
def store(containerd: Containerd) -> Iterator[ImageStore]:
    """An image store on the test daemon's k8s.io namespace, emptied after each test."""
    yield ImageStore(containerd.socket, timeout=60.0, import_timeout=120.0)

    for ref in containerd.image_refs():
        containerd.ctr("images", "rm", "--sync", ref)


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    return folder


@pytest.fixture
def mkimage(tmp_path: Path) -> MkImage:
    """Build an archive with tools/mkimage: ``mkimage(ref, *options, out=None)``."""
    counter = iter(range(1_000_000))

    def build(ref: str, *options: str, out: Path | None = None) -> Path:
        target = out or tmp_path / f"image-{next(counter)}.tar"
        command = [sys.executable, str(MKIMAGE), "--ref", ref, "--out", str(target), *options]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            pytest.fail(f"mkimage failed ({done.returncode}): {done.stderr}")
        return target

    return build
