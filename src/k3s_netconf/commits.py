"""Changing the device: the transaction behind edit-config, and the actions outside it.

A commit edits a copy of the datastore, validates it, checks what only the device can check
(host paths), plans the steps from the old to the new configuration and performs them. The
datastore takes the new content only when every step succeeded; otherwise the executor has
undone the steps and the client gets the first failure. One commit runs at a time.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field

from lxml import etree

from k3s_netconf import desired, errors, paths
from k3s_netconf.cluster import Cluster
from k3s_netconf.datastore.store import Candidate, Datastore, validated
from k3s_netconf.executing import Executor, image_error_message
from k3s_netconf.images.archive import resolve_archive
from k3s_netconf.images.store import ImageInfo, ImageStore
from k3s_netconf.kube.hostpaths import check_host_paths
from k3s_netconf.network.forwarding import Forwarder
from k3s_netconf.planning import planner
from k3s_netconf.repairing import Repairs
from k3s_netconf.settings import Settings

logger = logging.getLogger(__name__)

# Seconds a listing of containerd's images is reused for get before it is read again.
IMAGE_LIST_TTL = 5.0
# Seconds between two attempts to reconcile the cluster while it cannot be reached.
RECONCILE_RETRY = 5.0


@dataclass
class ImageView:
    """What get reports of the image store: a recent listing and the last import errors."""

    listed: dict[str, ImageInfo] = field(default_factory=dict)
    listed_at: float = 0.0
    reachable: bool = False
    errors: dict[str, str] = field(default_factory=dict)


class Commits:
    def __init__(self, settings: Settings, running: Datastore) -> None:
        self.settings = settings
        self.running = running
        self.cluster = Cluster(settings.kubernetes)
        self.images = ImageStore.from_settings(settings.images)
        self.image_view = ImageView()
        self.forwarder = Forwarder(settings.network, self.cluster.app_states, self.cluster.current)
        self.executor = Executor(
            self.images, self.cluster.workloads, self.forwarder, settings.images.folder,
            self._image_result,
        )
        self._commit_lock = threading.Lock()
        self._image_lock = threading.Lock()
        self._stopping = threading.Event()
        self._reconciler: threading.Thread | None = None
        self.repairs = Repairs(running, self.cluster.workloads, self._commit_lock)

    def start(self) -> None:
        self.cluster.subscribe(self.forwarder.pods_changed)
        self.cluster.subscribe_deployments(self.repairs.deployment_changed)
        self.repairs.start()
        self.cluster.start()
        self.forwarder.start(self.running.config.forwards())
        self._reconciler = threading.Thread(target=self._reconcile_loop, name="reconcile", daemon=True)
        self._reconciler.start()

    def stop(self) -> None:
        self._stopping.set()
        self.repairs.stop()
        self.forwarder.stop()
        self.cluster.stop()

    # The transaction

    def edit(self, config: etree._Element, default_operation: str, session_id: int) -> None:
        """edit-config on running: edit a copy, validate it and make it so."""
        with self._commit_lock:
            self._commit(self.running.edited(config, default_operation), session_id)

    def commit(self, tree: etree._Element, session_id: int) -> None:
        """Make a whole tree (the candidate's) running, by the same transaction."""
        with self._commit_lock:
            self._commit(validated(self.running.schema, copy.deepcopy(tree)), session_id)

    def test_edit(self, config: etree._Element, default_operation: str) -> None:
        """Check an edit of running as a commit would, and change nothing."""
        new = self.running.edited(config, default_operation)
        self._check_device(self.running.config, new.config)

    def validate(self, tree: etree._Element) -> None:
        """Check a whole tree against the model and the device, and change nothing."""
        new = validated(self.running.schema, copy.deepcopy(tree))

        # Every host path, not only the changed ones: a link may have moved since they were set.
        self._check_device(desired.Config(), new.config)

    def _commit(self, new: Candidate, session_id: int) -> None:
        old = self.running.config
        self._check_device(old, new.config)

        steps = planner.plan(old, new.config, self._present_images(old, new.config))
        logger.info(
            "Session %d commits %d step(s): %s.", session_id, len(steps),
            "; ".join(str(s.action) for s in steps) or "nothing to change",
        )
        self.executor.run(steps)

        try:
            self.running.replace(new)
        except OSError as e:
            logger.error("Could not save the configuration: %s. Undoing the commit.", e)
            self.executor.run(planner.plan(new.config, old, set(new.config.images)))
            raise errors.OperationFailed(
                f"the configuration could not be saved to {str(self.running.path)!r}: {e}"
            ) from e

    def _check_device(self, old: desired.Config, new: desired.Config) -> None:
        roots = self.settings.volumes.allowed_roots
        for name, app in new.apps.items():
            if app.volumes and old.apps.get(name) != app:
                check_host_paths(app, roots)

    def _present_images(self, old: desired.Config, new: desired.Config) -> set[str]:
        # Listing containerd costs a process; a commit that leaves images alone needs none.
        if old.images == new.images:
            return set(new.images)
        return set(self._list_images(fresh=True))

    # Reconciling

    def _reconcile_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.reconcile()
                return
            except errors.NetconfError as e:
                logger.warning("Cannot reconcile the cluster yet (%s); retrying in %.0f s.",
                               e.message.rstrip("."), RECONCILE_RETRY)
            self._stopping.wait(RECONCILE_RETRY)

    def reconcile(self) -> None:
        """Bring the cluster and the image store to the running configuration."""
        self.cluster.watch()
        with self._commit_lock:
            config = self.running.config
            owned = self.cluster.workloads().owned_apps()
            present = set(self._list_images(fresh=True)) if config.images else set()
            steps = planner.reconcile(config, owned, present)
            failures = self.executor.run_all(steps)
        logger.info("Reconciled the cluster to the configuration: %d step(s), %d failed.",
                    len(steps), len(failures))

    # Actions outside the datastore

    def restart(self, app: str) -> None:
        self._known_app(app)
        self.cluster.workloads().restart(app)

    def logs(self, app: str, lines: int, previous: bool, pod: str | None) -> tuple[str, str]:
        self._known_app(app)
        return self.cluster.workloads().logs(app, lines, previous, pod)

    def import_image(self, name: str, archive: str, sha256: str | None) -> ImageInfo:
        with self._commit_lock:
            path = resolve_archive(archive, self.settings.images.folder, error_path="/ka:archive")
            try:
                info = self.images.import_archive(name, path, sha256)
            except Exception as e:
                self._image_result(name, e)
                raise
            self._image_result(name, None)
            return info

    def remove_image(self, name: str) -> None:
        with self._commit_lock:
            users = sorted(a.name for a in self.running.config.apps.values() if a.image == name)
            if users:
                raise errors.InUse(
                    f"image {name!r} is used by app(s) {', '.join(users)}; change or delete "
                    "them first",
                    path="/ka:name",
                )
            if name in self.running.config.images:
                raise errors.InUse(
                    f"image {name!r} is configured; delete it from /images instead, so the "
                    "configuration and the device agree",
                    path="/ka:name",
                )
            self.images.remove(name)
            self._forget_listing()

    def _known_app(self, app: str) -> None:
        if app not in self.running.config.apps:
            raise errors.DataMissing(
                f"no app named {app!r} is configured",
                path=paths.app(app),
            )

    # The image view for get

    def image_listing(self) -> tuple[dict[str, ImageInfo], bool]:
        """A recent listing of containerd's images, and whether containerd answered."""
        try:
            return self._list_images(fresh=False), True
        except errors.NetconfError as e:
            logger.debug("Cannot list images for get: %s", e.message)
            return {}, False

    def _list_images(self, fresh: bool) -> dict[str, ImageInfo]:
        with self._image_lock:
            view = self.image_view
            if fresh or time.monotonic() - view.listed_at > IMAGE_LIST_TTL:
                view.listed = self.images.list()
                view.listed_at = time.monotonic()
            return view.listed

    def _forget_listing(self) -> None:
        with self._image_lock:
            self.image_view.listed_at = 0.0

    def _image_result(self, name: str, error: Exception | None) -> None:
        with self._image_lock:
            self.image_view.listed_at = 0.0
            if error is None:
                self.image_view.errors.pop(name, None)
                logger.info("Imported image %r.", name)
            else:
                self.image_view.errors[name] = image_error_message(error)
