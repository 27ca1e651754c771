"""A saved datastore (running, startup): a validated XML tree, its typed form, and the file that keeps it."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from lxml import etree

from k3s_netconf import desired
from k3s_netconf.datastore import checking, converting, editing, persisting, scoping, validating
from k3s_netconf.schema import Schema

logger = logging.getLogger(__name__)

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


class Candidate:
    """A changed copy of a datastore, validated, not yet in effect."""

    def __init__(self, tree: etree._Element, config: desired.Config) -> None:
        self.tree = tree
        self.config = config


class Datastore:
    def __init__(self, schema: Schema, path: Path) -> None:
        self.schema = schema
        self.path = path
        self.tree = empty_tree()
        self.config = desired.Config()

    def load(self) -> None:
        """Read the saved tree; a missing file is an empty datastore."""
        tree = persisting.load(self.path)
        if tree is None:
            logger.info("No saved configuration at %r; starting empty.", str(self.path))
            return
        self.tree = tree
        self.config = converting.config(validating.config_values(self.schema, tree))
        logger.info(
            "Loaded the configuration from %r: %d image(s), %d app(s), %d forwarding rule(s).",
            str(self.path),
            len(self.config.images),
            len(self.config.apps),
            len(self.config.rules),
        )

    def edited(self, config: etree._Element, default_operation: str) -> Candidate:
        """The datastore as it would be after the edit; raises the edit's first error."""
        tree = copy.deepcopy(self.tree)
        edited = editing.apply(self.schema, tree, config, default_operation, True)
        if edited.copied:
            try:
                return self._edited_to(tree, edited, explain=False)
            except checking.Refused:
                # The new entries copied unchecked are at fault, or something else is: the
                # walk through every node of the edit names either as precisely as it can.
                logger.debug("The edit with copied entries is invalid; walking it again.")
                tree = copy.deepcopy(self.tree)
                edited = editing.apply(self.schema, tree, config, default_operation)
        return self._edited_to(tree, edited)

    def _edited_to(
        self, tree: etree._Element, edited: editing.Edited, explain: bool = True
    ) -> Candidate:
        # The entries the edit did not go into are this datastore's own, unchanged.
        return self.changed_to(tree, scoping.apps_not_in(tree, edited.entries), explain)

    def changed_to(
        self, tree: etree._Element, untouched: set[str] | None = None, explain: bool = True
    ) -> Candidate:
        """A tree that replaces this datastore's, checked as a whole by what changed.

        ``untouched`` names apps known to be as this datastore holds them; without it, the
        trees are compared. Without ``explain``, an invalid tree raises libyang's refusal
        as it is, without the search for the error-tag and error-path a client needs.
        """
        if untouched is None:
            untouched = scoping.untouched_apps(self.tree, tree)
        part = scoping.part_to_validate(tree, untouched)
        checked = converting.config(validating.config_values(self.schema, part, explain))

        # Apps left out of the check are the same entries as before, so their values are too.
        apps = {
            name: checked.apps[name] if name in checked.apps else self.config.apps[name]
            for name in scoping.app_names(tree)
        }
        return Candidate(tree, desired.Config(checked.images, apps, checked.rules))

    def replace(self, candidate: Candidate) -> None:
        """Save the candidate and make it the datastore's content."""
        persisting.save(self.path, candidate.tree)
        self.tree = candidate.tree
        self.config = candidate.config

    def saved(self) -> bool:
        return self.path.exists()

    def delete(self) -> None:
        """Remove the saved file; the datastore is empty until it is written again."""
        persisting.remove(self.path)
        self.tree = empty_tree()
        self.config = desired.Config()


def validated(schema: Schema, tree: etree._Element) -> Candidate:
    """A whole tree checked against the model; raises its first error."""
    return Candidate(tree, converting.config(validating.config_values(schema, tree)))


def from_config(schema: Schema, config: etree._Element) -> etree._Element:
    """The datastore tree an inline <config> stands for, its structure checked, not validated."""
    tree = empty_tree()
    editing.apply(schema, tree, config, "merge")
    return tree


def empty_tree() -> etree._Element:
    return etree.Element(f"{{{NC}}}data", nsmap={None: NC})
