"""Putting back the Deployments of apps that someone deleted or edited by hand.

The watch cache tells of every change to the spec of an owned Deployment. Most are the
plugin's own applies, which show what running wants and need nothing more. Any other change
is read afresh once no commit runs (the news may predate the commit that made it right), and
the app is applied from running again only when its replicas or images still differ from
what running wants, or when it is gone. Repairs run on a thread of their own, because the watch thread that
tells of a change must not wait for a commit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from k3s_netconf import desired, errors
from k3s_netconf.datastore.store import Datastore
from k3s_netconf.kube import manifests, states
from k3s_netconf.kube.workloads import Workloads

logger = logging.getLogger(__name__)

# Seconds the repair thread waits for work before it checks whether to stop.
IDLE_SECONDS = 1.0


class Repairs:
    def __init__(
        self, running: Datastore, workloads: Callable[[], Workloads], commit_lock: threading.Lock
    ) -> None:
        self._running = running
        self._workloads = workloads
        self._commit_lock = commit_lock
        # The app, and its Deployment as the watch last told of it (None: deleted).
        self._pending: queue.Queue[tuple[str, states.Deployment | None]] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="repair", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(IDLE_SECONDS * 2)

    def deployment_changed(
        self, previous: states.Deployment | None, current: states.Deployment | None
    ) -> None:
        """A watch thread's news: check that Deployment soon."""
        changed = current or previous
        if changed is not None:
            self._pending.put((changed.name, current))

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                name, seen = self._pending.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                continue
            try:
                self.repair(name, seen)
            except errors.NetconfError as e:
                # The watch tells again when the API server is back and the cache lists anew.
                logger.warning("Could not check the Deployment of app %r: %s", name, e.message)

    def repair(self, name: str, seen: states.Deployment | None = None) -> None:
        """Apply ``name`` from running again if its Deployment differs in replicas or images.

        ``seen`` is the Deployment as the watch told of it: when it is what running wants, as
        after the plugin's own apply, the API server is not asked.
        """
        with self._commit_lock:
            app = self._running.config.apps.get(name)
            if app is None:
                return
            workloads = self._workloads()
            if seen is not None and not _drift(_wanted(app, workloads.namespace), seen):
                return
            drift = differences(app, workloads.namespace, workloads.get_manifest(name))
            if not drift:
                return

            logger.info(
                "The Deployment of app %r was changed outside the plugin (%s); "
                "applying it again from running.",
                name,
                drift,
            )
            workloads.apply(app)


def differences(app: desired.App, namespace: str, found: dict[str, Any] | None) -> str:
    """How the Deployment found differs from the app's in replicas and images; "" if not."""
    if found is None:
        return "it was deleted"
    return _drift(_wanted(app, namespace), states.deployment(found))


def _wanted(app: desired.App, namespace: str) -> states.Deployment:
    return states.deployment(manifests.deployment(app, namespace))


def _drift(wanted: states.Deployment, seen: states.Deployment) -> str:
    drift = []
    if seen.desired != wanted.desired:
        drift.append(f"replicas {seen.desired!r} instead of {wanted.desired!r}")
    if seen.images != wanted.images:
        drift.append(f"images {list(seen.images)!r} instead of {list(wanted.images)!r}")
    return "; ".join(drift)
