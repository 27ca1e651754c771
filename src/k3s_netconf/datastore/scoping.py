"""What a changed tree must have validated again, when the tree before the change was valid.

Validating a whole tree of many apps costs far more than the edit of one of them. The result
of a change is valid when the part of it that holds everything the change can affect is
valid, and that part is small: the apps the change touched (added or different), and the
entries whose checks reach beyond themselves into something that may have changed.

The model's constraints that reach beyond one app entry (tests/unit/test_scoping.py keeps this
list in step with the model):

- an app's `image` is a leafref to the images: all images are kept (they are few), and an app
  left alone is kept when its image is gone, so the leafref fails for it as before;
- a rule's `app` and `port` are leafrefs into the apps: all rules are kept, with every app a
  rule refers to;
- `unique` and `must` of an app's ports, volumes and resources stay inside the app entry.

Everything outside the apps is kept whole. The part is serialized from the changed tree,
which is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from k3s_netconf.schema import APPS_NS


def _ka(name: str) -> str:
    return f"{{{APPS_NS}}}{name}"


APPS = _ka("apps")
APP = _ka("app")
NAME = _ka("name")


def untouched_apps(old: etree._Element, new: etree._Element) -> set[str]:
    """Names of the apps the new tree holds exactly as the old one does."""
    before = {_name(app): _text(app) for app in _apps(old)}
    return {
        name
        for app in _apps(new)
        if before.get(name := _name(app)) is not None and before[name] == _text(app)
    }


def apps_not_in(tree: etree._Element, entries: set[etree._Element]) -> set[str]:
    """Names of the apps of ``tree`` whose entries are not among ``entries``."""
    return {_name(app) for app in _apps(tree) if app not in entries}


def part_to_validate(new: etree._Element, untouched: set[str]) -> bytes:
    """The new tree without the untouched apps nothing changed refers to, serialized as the
    checker reads it (``checking.content``): each entry where it is, which costs less than a
    copy of them in a tree of their own."""
    kept = untouched - _still_referenced(new, untouched)
    pieces = []
    for child in new:
        if not isinstance(child.tag, str):
            continue
        if child.tag != APPS or not kept:
            pieces.append(etree.tostring(child, with_tail=False))
            continue

        # Each entry serialized alone declares its namespace, so the container's tags can be
        # written plainly around them.
        pieces.append(b'<apps xmlns="%s">' % APPS_NS.encode())
        pieces.extend(
            etree.tostring(entry, with_tail=False)
            for entry in child
            if entry.tag != APP or _name(entry) not in kept
        )
        pieces.append(b"</apps>")
    return b"".join(pieces)


def app_names(tree: etree._Element) -> list[str]:
    return [_name(app) for app in _apps(tree)]


def _still_referenced(new: etree._Element, untouched: set[str]) -> set[str]:
    # Untouched apps that must be checked again or be there for a check of something else.
    images = {name.strip() for name in _texts(new, f"{_ka('images')}/{_ka('image')}/{_ka('name')}")}
    gone_image = {
        name
        for app in _apps(new)
        if (name := _name(app)) in untouched
        and (app.findtext(_ka("image")) or "").strip() not in images
    }
    ruled = {
        name.strip() for name in _texts(new, f"{_ka('port-forwarding')}/{_ka('rule')}/{_ka('app')}")
    }
    return gone_image | (ruled & untouched)


def _apps(tree: etree._Element) -> Iterable[etree._Element]:
    return tree.iterfind(f"{APPS}/{APP}")


def _name(app: etree._Element) -> str:
    # The key comes first in an entry; a scan of the children is much cheaper than findtext.
    for child in app:
        if child.tag == NAME:
            return (child.text or "").strip()
    return ""


def _text(app: etree._Element) -> bytes:
    return etree.tostring(app, with_tail=False)


def _texts(tree: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in tree.iterfind(path)]
