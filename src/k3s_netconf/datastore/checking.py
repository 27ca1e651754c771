"""The model's constraints checked by libyang, the C library of the YANG reference tools.

yangson walks an instance in pure Python and costs about a millisecond per app entry, which
made an edit-config creating a hundred apps spend more time validating than the API server
spent applying them. libyang checks the same tree (types, ranges, patterns, keys, mandatory
nodes, choices, unique, must, leafrefs) some thirty times faster and prints it back with its
defaults in the RFC 7951 JSON encoding that yangson's raw value uses too, so one tree gives
the values the datastore keeps.

libyang only says whether the tree is valid. When it is not, yangson names the problem with
the error-tag, error-app-tag and error-path the server has always answered with
(validating.py); tests/unit/test_checking.py holds the two to the same verdict and values.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import libyang
from lxml import etree

Raw = dict[str, Any]

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


# libyang's reason and where, as its errors read: "<reason>: Data location "<path>"...".
_REFUSAL = re.compile(
    r"^(?:failed to parse data tree: )?(?P<reason>.*?)(?:\.?: (?P<kind>Data|Schema) location "
    r'"(?P<path>[^"]*)".*)?$',
    re.DOTALL,
)


class Refused(Exception):
    """libyang found the tree invalid: its reason, and the path it names when it names one."""

    def __init__(self, text: str) -> None:
        match = _REFUSAL.match(text)
        self.reason = match["reason"].rstrip(".") if match else text
        self.path = match["path"] if match else None
        if match and match["kind"] == "Schema" and self.reason.startswith("Mandatory choice"):
            # A schema path (no keys) ending in the choice: the node that lacks it is its parent.
            self.path = self.path.rsplit("/", 1)[0]
        super().__init__(self.reason)


class Checker:
    def __init__(self, folders: Iterable[Path], modules: Iterable[str]) -> None:
        # Errors name the data node only while libyang logs through its callback; the log
        # lines themselves are not the daemon's to print (the rpc-error carries them).
        libyang.configure_logging(True)
        logging.getLogger("libyang").propagate = False
        search = ":".join(str(folder) for folder in folders)
        self._context = libyang.Context(search, disable_searchdir_cwd=True)
        for name in modules:
            self._context.load_module(name)
        # A context's error list is shared by its callers: one check at a time (each is short).
        self._lock = threading.Lock()

    def values(self, data: bytes) -> Raw:
        """The configuration in ``data`` (top-level nodes, see ``content``), checked, as RFC 7951
        JSON with defaults."""
        if not data:
            return {}

        with self._lock:
            try:
                node = self._context.parse_data_mem(
                    data, "xml", no_state=True, strict=True, validate_present=True
                )
            except libyang.LibyangError as e:
                raise Refused(str(e)) from e
            if node is None:
                return {}
            try:
                text = node.print_mem("json", with_siblings=True, include_implicit_defaults=True)
            finally:
                node.free(with_siblings=True)
        return json.loads(text) if text else {}


def content(tree: etree._Element) -> bytes:
    """What the checker reads of a datastore tree: its top-level nodes, serialized."""
    return b"".join(
        etree.tostring(child, with_tail=False) for child in tree if isinstance(child.tag, str)
    )


def tree_of(data: bytes) -> etree._Element:
    """The datastore tree whose ``content`` is ``data``."""
    return etree.fromstring(b'<data xmlns="%s">%s</data>' % (NC.encode(), data))
