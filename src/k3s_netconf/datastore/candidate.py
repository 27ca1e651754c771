"""The candidate datastore (RFC 6241 section 8.3): a scratch copy of running.

Edits change only this tree; nothing reaches the device until a commit. RFC 7950 section
8.3.2 delays the model's constraints on the candidate until commit or validate, so an edit
here is checked for its structure and values but the whole tree is not validated, and a
configuration may be built over several edits. The datastore remembers which sessions changed
it since it last equalled running, because a lock on it is refused while it holds changes of
another session (RFC 6241 section 7.5).
"""

from __future__ import annotations

import copy

from lxml import etree

from k3s_netconf.datastore import editing
from k3s_netconf.datastore.store import empty_tree
from k3s_netconf.schema import Schema


class CandidateDatastore:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.tree = empty_tree()
        self.editors: set[int] = set()

    def reset(self, running: etree._Element) -> None:
        """Make the candidate running's tree again, with no uncommitted changes.

        The tree is shared, not copied: no datastore's tree is ever changed in place (an edit
        changes a copy, which then replaces the tree, and readers get copies), so a candidate
        that equals running costs no second tree, some 4 KB per app.
        """
        self.tree = running
        self.editors.clear()

    def edited(self, config: etree._Element, default_operation: str) -> etree._Element:
        """The tree as it would be after the edit, the candidate left as it is."""
        tree = copy.deepcopy(self.tree)
        editing.apply(self.schema, tree, config, default_operation)
        return tree

    def replace(self, tree: etree._Element, session_id: int) -> None:
        self.tree = tree
        self.editors.add(session_id)

    def changed_by_others(self, session_id: int) -> list[int]:
        """The other sessions whose changes the candidate holds, lowest first."""
        return sorted(self.editors - {session_id})
