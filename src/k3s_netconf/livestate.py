"""The tree that get returns: the running configuration with the observed state joined in.

The state comes from memory only (the watch cache, the last image listing), so a get costs
no request to the API server.
"""

from __future__ import annotations

import copy

from lxml import etree

from k3s_netconf import desired
from k3s_netconf.commits import Commits
from k3s_netconf.datastore import rendering
from k3s_netconf.kube import health
from k3s_netconf.observed import NodeState, RuleState
from k3s_netconf.schema import APPS_NS


def _ka(name: str) -> str:
    return f"{{{APPS_NS}}}{name}"


class LiveState:
    def __init__(self, commits: Commits) -> None:
        self.commits = commits

    def tree(self) -> etree._Element:
        running = self.commits.running
        data = copy.deepcopy(running.tree)
        self._join_apps(data)
        self._join_images(data)
        self._join_forwarding(data)
        rendering.node_state(data, self._node(), requested(running.config))
        return data

    def _join_apps(self, data: etree._Element) -> None:
        states = self.commits.cluster.app_states()
        configured = self.commits.running.config.apps
        for app in data.iterfind(f"{_ka('apps')}/{_ka('app')}"):
            name = app.findtext(_ka("name"))
            state = health.configured_probes(states.get(name), configured.get(name or ""))
            rendering.app_state(app, state)

    def _join_images(self, data: etree._Element) -> None:
        entries = list(data.iterfind(f"{_ka('images')}/{_ka('image')}"))
        if not entries:
            return

        listing, reachable = self.commits.image_listing()
        failures = dict(self.commits.image_view.errors)
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

    def _join_forwarding(self, data: etree._Element) -> None:
        forwarder = self.commits.forwarder
        container = data.find(_ka("port-forwarding"))
        if container is None:
            # Reported without rules too: whether forwarding could work is worth knowing first.
            container = etree.SubElement(data, _ka("port-forwarding"), nsmap={None: APPS_NS})

        states = forwarder.rule_states()
        for rule in container.iterfind(_ka("rule")):
            protocol = (rule.findtext(_ka("protocol")) or "").strip()
            key = (protocol, int(rule.findtext(_ka("external-port")) or 0))
            rendering.rule_state(rule, states.get(key, RuleState()))
        rendering.forwarding_state(container, forwarder.state())

    def _node(self) -> NodeState:
        return self.commits.cluster.node_state()


def requested(config: desired.Config) -> dict[str, int]:
    """CPU and memory the configured apps request, for the replicas they run."""
    cpu = sum((a.resources.cpu_request or 0) * a.running_replicas for a in config.apps.values())
    memory = sum(
        (a.resources.memory_request or 0) * a.running_replicas for a in config.apps.values()
    )
    return {"cpu": cpu, "memory": memory}
