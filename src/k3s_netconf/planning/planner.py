"""From (old config, new config, what is observed) to an ordered list of steps.

The order frees before it takes: images are imported first (apps need them), then removed
apps are deleted (freeing CPU, memory and host ports), then apps are applied, then the
forwarding table is replaced (its rules point at apps), and images are removed last (no app
uses them any more). Every step carries its undo, computed from the old configuration, so a
failed commit can be taken back in reverse order.

The forwarding table is one step for all rules, because it is replaced whole. It is needed
when a rule changes or when a port a rule points at changes its number; where the Pods of an
app are is not the planner's business but the forwarder's, which follows them.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from k3s_netconf.desired import Config
from k3s_netconf.planning.actions import (
    ApplyApp,
    ApplyForwarding,
    DeleteApp,
    ImportImage,
    RemoveImage,
    Step,
)


def plan(old: Config, new: Config, present_images: AbstractSet[str]) -> list[Step]:
    """The steps that take the device from ``old`` to ``new``."""
    return [
        *_image_imports(old, new, present_images),
        *_app_deletions(old, new),
        *_app_applications(old, new),
        *_forwarding(old, new),
        *_image_removals(old, new),
    ]


def reconcile(
    new: Config, owned_apps: AbstractSet[str], present_images: AbstractSet[str]
) -> list[Step]:
    """The steps that bring whatever the cluster holds to ``new``, as on start.

    Applying an app that is already as configured changes nothing, so every app is applied;
    Deployments of ours that the configuration no longer has are deleted. Images that are
    present are left alone, since an image may have been imported outside the datastore.
    The forwarding table is not among the steps: the forwarder renders it on start, once it
    knows where the Pods are.
    """
    imports = [
        Step(ImportImage(image)) for name, image in new.images.items() if name not in present_images
    ]
    deletions = [Step(DeleteApp(name)) for name in sorted(owned_apps - new.apps.keys())]
    applications = [Step(ApplyApp(app)) for app in new.apps.values()]
    return [*imports, *deletions, *applications]


def _image_imports(old: Config, new: Config, present: AbstractSet[str]) -> list[Step]:
    steps = []
    for name, image in new.images.items():
        before = old.images.get(name)
        if before == image and name in present:
            continue

        if before is not None and before != image:
            undo = ImportImage(before)
        elif name in present:
            undo = None  # it was there before this commit and stays
        else:
            undo = RemoveImage(name)
        steps.append(Step(ImportImage(image), undo))
    return steps


def _app_deletions(old: Config, new: Config) -> list[Step]:
    return [
        Step(DeleteApp(name), ApplyApp(app))
        for name, app in old.apps.items()
        if name not in new.apps
    ]


def _app_applications(old: Config, new: Config) -> list[Step]:
    steps = []
    for name, app in new.apps.items():
        before = old.apps.get(name)
        if before == app:
            continue
        steps.append(Step(ApplyApp(app), ApplyApp(before) if before else DeleteApp(name)))
    return steps


def _forwarding(old: Config, new: Config) -> list[Step]:
    before, after = old.forwards(), new.forwards()
    if before == after:
        return []
    return [Step(ApplyForwarding(after), ApplyForwarding(before))]


def _image_removals(old: Config, new: Config) -> list[Step]:
    return [
        Step(RemoveImage(name), ImportImage(image))
        for name, image in old.images.items()
        if name not in new.images
    ]
