"""Writing files so that a crash or a power cut leaves either nothing or the whole content."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def durable_temporary(path: Path, data: bytes) -> Path:
    """A new file beside ``path`` holding ``data`` on disk (mode 0600), ready to be renamed
    or linked into place; the caller removes it when it is not used."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(temporary)
        raise
    return Path(temporary)


def sync_folder(folder: Path) -> None:
    """Make a rename or link in ``folder`` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
