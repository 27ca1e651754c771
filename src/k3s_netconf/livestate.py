"""The tree that get returns: the running configuration with the observed state joined in.

The state comes from memory only (the watch cache, the last image listing), so a get costs
no request to the API server. Joining it costs more than the rest of a get: a tree is built
once for what it shows, and kept while the running configuration and every observed value
it shows stay the same. Each get compares those (by identity where their sources replace
them on a change, by value where they are few) and builds a new tree on any difference, so
a watch event or a usage sample shows in the next get. A built tree is shared by every
reader and never changed; ``tree()`` hands out copies to change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lxml import etree

from k3s_netconf import desired
from k3s_netconf.commits import Commits
from k3s_netconf.datastore import rendering
from k3s_netconf.images.store import ImageInfo
from k3s_netconf.kube import health
from k3s_netconf.observed import AppState, ForwardingState, NodeState, RuleState
from k3s_netconf.schema import APPS_NS


def _ka(name: str) -> str:
    return f"{{{APPS_NS}}}{name}"


@dataclass(frozen=True, eq=False)
class _Shown:
    """Everything a joined tree is built from."""

    # Replaced, never changed, by their sources: the same object is the same content.
    tree: etree._Element
    config: desired.Config
    apps: dict[str, AppState]
    # Few entries, read anew at each get: compared by value.
    images: tuple[dict[str, ImageInfo], bool, dict[str, str]] | None
    rules: dict[tuple[str, int], RuleState]
    forwarding: ForwardingState
    node: NodeState

    def same_as(self, other: _Shown) -> bool:
        return (
            self.tree is other.tree
            and self.config is other.config
            and self.apps is other.apps
            and (self.images, self.rules, self.forwarding, self.node)
            == (other.images, other.rules, other.forwarding, other.node)
        )


# What an app's state element was rendered from: its state (by identity) and which probes
# its configuration has (None without a configuration).
_Rendered = tuple[AppState | None, tuple[bool, bool] | None]


class LiveState:
    def __init__(self, commits: Commits) -> None:
        self.commits = commits
        self._built: tuple[_Shown, etree._Element] | None = None
        # App name -> its state element as last rendered, with what it was rendered from.
        self._rendered: dict[str, tuple[_Rendered, etree._Element]] = {}

    def tree(self) -> etree._Element:
        """The joined tree, the caller's own to change."""
        return copy.deepcopy(self.shared())

    def shared(self) -> etree._Element:
        """The joined tree as other readers share it: to be read, copied, never changed."""
        shown = self._shown()
        built = self._built
        if built is not None and built[0].same_as(shown):
            return built[1]

        # Sessions that race here each build the same tree; the last one is kept.
        data = copy.deepcopy(shown.tree)
        self._rendered = _join_apps(data, shown, self._rendered)
        _join_images(data, shown)
        _join_forwarding(data, shown)
        rendering.node_state(data, shown.node, requested(shown.config))
        self._built = (shown, data)
        return data

    def _shown(self) -> _Shown:
        # The running tree and its typed form are read as one: a pair of another commit's
        # halves differs from the next get's pair, so it is never kept beyond one get.
        running = self.commits.running
        tree, config = running.tree, running.config
        forwarder = self.commits.forwarder
        cluster = self.commits.cluster
        return _Shown(
            tree=tree,
            config=config,
            apps=cluster.app_states(),
            images=self._images() if config.images else None,
            rules=forwarder.rule_states(),
            forwarding=forwarder.state(),
            node=cluster.node_state(),
        )

    def _images(self) -> tuple[dict[str, ImageInfo], bool, dict[str, str]]:
        listing, reachable = self.commits.image_listing()
        return listing, reachable, dict(self.commits.image_view.errors)


def _join_apps(
    data: etree._Element, shown: _Shown, rendered: dict[str, tuple[_Rendered, etree._Element]]
) -> dict[str, tuple[_Rendered, etree._Element]]:
    """Each app's state joined to its entry; returns what was rendered, for the next time.

    A copy of an app's state element as rendered before costs a fraction of rendering it
    again, and most apps are as before when one Pod or Event changed.
    """
    configured = shown.config.apps
    now: dict[str, tuple[_Rendered, etree._Element]] = {}
    for app in data.iterfind(f"{_ka('apps')}/{_ka('app')}"):
        name = app.findtext(_ka("name")) or ""
        config = configured.get(name)
        state = shown.apps.get(name)
        probes = (
            None if config is None else (bool(config.liveness_probe), bool(config.readiness_probe))
        )
        known = rendered.get(name)
        if known is not None and known[0][0] is state and known[0][1] == probes:
            app.append(copy.deepcopy(known[1]))
            now[name] = known
            continue
        element = rendering.app_state(app, health.configured_probes(state, config))
        now[name] = ((state, probes), copy.deepcopy(element))
    return now


def _join_images(data: etree._Element, shown: _Shown) -> None:
    entries = list(data.iterfind(f"{_ka('images')}/{_ka('image')}"))
    if not entries or shown.images is None:
        return

    listing, reachable, failures = shown.images
    for image in entries:
        name = image.findtext(_ka("name"))
        info = listing.get(name)
        rendering.image_state(
            image,
            present=info is not None if reachable else None,
            digest=info.digest if info else None,
            size=info.size if info else None,
            imported_at=info.imported_at if info else None,
            last_error=failures.get(name),
        )


def _join_forwarding(data: etree._Element, shown: _Shown) -> None:
    container = data.find(_ka("port-forwarding"))
    if container is None:
        # Reported without rules too: whether forwarding could work is worth knowing first.
        container = etree.SubElement(data, _ka("port-forwarding"), nsmap={None: APPS_NS})

    for rule in container.iterfind(_ka("rule")):
        protocol = (rule.findtext(_ka("protocol")) or "").strip()
        key = (protocol, int(rule.findtext(_ka("external-port")) or 0))
        rendering.rule_state(rule, shown.rules.get(key, RuleState()))
    rendering.forwarding_state(container, shown.forwarding)


def requested(config: desired.Config) -> dict[str, int]:
    """CPU and memory the configured apps request, for the replicas they run."""
    cpu = sum((a.resources.cpu_request or 0) * a.running_replicas for a in config.apps.values())
    memory = sum(
        (a.resources.memory_request or 0) * a.running_replicas for a in config.apps.values()
    )
    return {"cpu": cpu, "memory": memory}
