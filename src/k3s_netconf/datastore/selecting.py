"""The nodes a filter picked out of a data tree, and the smaller tree made of them.

Subtree and XPath filters both decide node by node what to keep; collecting those decisions
first and building the result once keeps document order and merges what several parts of one
filter select from the same entry.
"""

from __future__ import annotations

import copy

from lxml import etree


class Selection:
    """Nodes kept whole, and the ancestors kept as bare structure around them."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self._whole: set[etree._Element] = set()
        self._along: set[etree._Element] = set()

    def keep(self, element: etree._Element) -> None:
        """Keep ``element`` with all that is below it, and its ancestors up to the root."""
        self._whole.add(element)
        for ancestor in element.iterancestors():
            if ancestor is self.root:
                break
            self._along.add(ancestor)

    def built(self) -> etree._Element:
        """A new tree like the root that holds only what was kept."""
        if self.root in self._whole:
            return copy.deepcopy(self.root)

        result = etree.Element(self.root.tag, nsmap=self.root.nsmap)
        self._copy_children(self.root, result)
        return result

    def _copy_children(self, source: etree._Element, target: etree._Element) -> None:
        for child in source:
            if child in self._whole:
                target.append(copy.deepcopy(child))
            elif child in self._along:
                shell = etree.SubElement(target, child.tag, attrib=child.attrib, nsmap=child.nsmap)
                self._copy_children(child, shell)
