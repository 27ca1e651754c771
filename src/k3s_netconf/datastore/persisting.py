"""Saving and loading a datastore file so that a crash leaves the old or the new, never a mix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lxml import etree

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
)


def save(path: Path, tree: etree._Element) -> None:
    """Write, fsync and rename over the old file, then fsync the folder that holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def load(path: Path) -> etree._Element | None:
    """The saved tree, or None when nothing was saved yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return etree.fromstring(data, _PARSER)
