"""Saving and loading a datastore file so that a crash leaves the old or the new, never a mix."""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from k3s_netconf import files

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
)


def save(path: Path, tree: etree._Element) -> None:
    """Write, fsync and rename over the old file, then fsync the folder that holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    temporary = files.durable_temporary(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    files.sync_folder(path.parent)


def remove(path: Path) -> None:
    """Delete the saved file, so that a crash right after leaves it deleted."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    files.sync_folder(path.parent)


def load(path: Path) -> etree._Element | None:
    """The saved tree, or None when nothing was saved yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return etree.fromstring(data, _PARSER)
