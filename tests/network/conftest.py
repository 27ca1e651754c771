"""The ``lab`` fixture: namespaces of the test's own, deleted when it ends, whatever happened."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from network.topology import Lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    missing = [p for p in ("ip", "nft", "nsenter", "sysctl") if shutil.which(p) is None]
    assert not missing, f"missing programs (tools/setup installs them): {missing}"

    made = Lab(tmp_path)
    try:
        made.build()
        yield made
    finally:
        made.close()
