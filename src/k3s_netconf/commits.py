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
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from k3s_netconf import admission, desired, errors, paths, refreshing
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

# Seconds after which a get wakes a listing of containerd's images for the next get.
IMAGE_LIST_TTL = 5.0
# Seconds between two attempts to reconcile the cluster while it cannot be reached.
RECONCILE_RETRY = 5.0

# Hears how each image import ended: the image, the error message or None, the digest if known.
ImageListener = Callable[[str, str | None, str | None], None]
# Hears of each commit that made running anew: the session, the old and the new configuration.
CommitListener = Callable[[int, desired.Config, desired.Config], None]


@dataclass
class ImageView:
    """What get reports of the image store besides the listing: the last import errors."""

    errors: dict[str, str] = field(default_factory=dict)


class Commits:
    def __init__(self, settings: Settings, running: Datastore) -> None:
        self.settings = settings
        self.running = running
        self.cluster = Cluster(settings.kubernetes, settings.resources)
        self.images = ImageStore.from_settings(settings.images)
        self.image_view = ImageView()
        self._image_listing = refreshing.Refreshed(
            "image listing", self._read_image_listing, IMAGE_LIST_TTL
        )
        self.forwarder = Forwarder(settings.network, self.cluster.app_states, self.cluster.current)
        self.executor = Executor(
            self.images,
            self.cluster.workloads,
            self.forwarder,
            settings.images.folder,
            self._image_result,
            settings.kubernetes.concurrent_requests,
        )
        self._commit_lock = threading.Lock()
        self._image_lock = threading.Lock()
        self._stopping = threading.Event()
        self._reconciler: threading.Thread | None = None
        self.image_listeners: list[ImageListener] = []
        self.commit_listeners: list[CommitListener] = []
        self.repairs = Repairs(running, self.cluster.workloads, self._commit_lock)

    def start(self) -> None:
        self.cluster.subscribe(self.forwarder.pods_changed)
        self.cluster.subscribe_deployments(self.repairs.deployment_changed)
        self.repairs.start()
        self.cluster.start()
        self.forwarder.start(self.running.config.forwards())
        self._reconciler = threading.Thread(
            target=self._reconcile_loop, name="reconcile", daemon=True
        )
        self._reconciler.start()
        self._image_listing.refresh_behind()

    def stop(self) -> None:
        self._stopping.set()
        self._image_listing.stop()
        self.repairs.stop()
        self.forwarder.stop()
        self.cluster.stop()

    # The transaction

    def edit(self, config: etree._Element, default_operation: str, session_id: int) -> None:
        """edit-config on running: edit a copy, validate it and make it so."""
        with self._commit_lock:
            started = time.perf_counter()
            self._commit(self.running.edited(config, default_operation), session_id, started)

    def commit(self, tree: etree._Element, session_id: int) -> None:
        """Make a whole tree (the candidate's) running, by the same transaction."""
        with self._commit_lock:
            started = time.perf_counter()
            self._commit(self.running.changed_to(copy.deepcopy(tree)), session_id, started)

    def test_edit(self, config: etree._Element, default_operation: str) -> None:
        """Check an edit of running as a commit would, and change nothing."""
        new = self.running.edited(config, default_operation)
        self._check_device(self.running.config, new.config)

    def validate(self, tree: etree._Element) -> None:
        """Check a whole tree against the model and the device, and change nothing."""
        new = validated(self.running.schema, copy.deepcopy(tree))

        # Every host path, not only the changed ones: a link may have moved since they were set.
        self._check_device(desired.Config(), new.config)

    def _commit(self, new: Candidate, session_id: int, started: float) -> None:
        """Make ``new``, checked since ``started``, the running configuration and the device."""
        old = self.running.config
        self._check_device(old, new.config)

        steps = planner.plan(old, new.config, self._present_images(old, new.config))
        logger.info(
            "Session %d commits %d step(s): %s.",
            session_id,
            len(steps),
            "; ".join(str(s.action) for s in steps) or "nothing to change",
        )
        planned = time.perf_counter()
        self.executor.run(steps)
        if old.images != new.config.images:
            # Read here, in the commit, so that the next get need not wait for ctr.
            self._image_listing.renew()

        applied = time.perf_counter()
        try:
            self.running.replace(new)
        except OSError as e:
            logger.error("Could not save the configuration: %s. Undoing the commit.", e)
            self.executor.run(planner.plan(new.config, old, set(new.config.images)))
            raise errors.OperationFailed(
                f"the configuration could not be saved to {str(self.running.path)!r}: {e}"
            ) from e
        saved = time.perf_counter()
        # Where a commit's time goes: the daemon's own work, the device's, the disk's.
        logger.info(
            "Session %d committed in %.1f ms: checking and planning %.1f ms, applying %.1f ms, "
            "saving %.1f ms.",
            session_id,
            (saved - started) * 1000,
            (planned - started) * 1000,
            (applied - planned) * 1000,
            (saved - applied) * 1000,
        )
        self._committed(session_id, old, new.config)

    def _committed(self, session_id: int, old: desired.Config, new: desired.Config) -> None:
        for listener in list(self.commit_listeners):
            try:
                listener(session_id, old, new)
            except Exception:
                # The commit is done; those told of it cannot undo it.
                logger.exception("A listener to commits failed.")

    def _check_device(self, old: desired.Config, new: desired.Config) -> None:
        roots = self.settings.volumes.allowed_roots
        for name, app in new.apps.items():
            if app.volumes and old.apps.get(name) != app:
                check_host_paths(app, roots)
        admission.check(old, new, self.cluster.node_state(), self.settings.resources)

    def _present_images(self, old: desired.Config, new: desired.Config) -> set[str]:
        # Listing containerd costs a process; a commit that leaves images alone needs none.
        if old.images == new.images:
            return set(new.images)
        return set(self._list_images())

    # Reconciling

    def _reconcile_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.reconcile()
                return
            except errors.NetconfError as e:
                logger.warning(
                    "Cannot reconcile the cluster yet (%s); retrying in %.0f s.",
                    e.message.rstrip("."),
                    RECONCILE_RETRY,
                )
            self._stopping.wait(RECONCILE_RETRY)

    def reconcile(self) -> None:
        """Bring the cluster and the image store to the running configuration."""
        self.cluster.watch()
        with self._commit_lock:
            config = self.running.config
            owned = self.cluster.workloads().owned_apps()
            present = set(self._list_images()) if config.images else set()
            steps = planner.reconcile(config, owned, present)
            failures = self.executor.run_all(steps)
        logger.info(
            "Reconciled the cluster to the configuration: %d step(s), %d failed.",
            len(steps),
            len(failures),
        )

    # Actions outside the datastore

    def restart(self, app: str) -> None:
        self._known_app(app)
        self.cluster.workloads().restart(app)

    def logs(self, app: str, lines: int, previous: bool, pod: str | None) -> tuple[str, str]:
        self._known_app(app)
        return self.cluster.workloads().logs(app, lines, previous, pod)

    def import_image(self, name: str, archive: str, sha256: str | None) -> ImageInfo:
        with self._commit_lock:
            try:
                path = resolve_archive(
                    archive, self.settings.images.folder, error_path="/ka:archive"
                )
                info = self.images.import_archive(name, path, sha256)
            except Exception as e:
                self._image_result(name, e)
                raise
            self._image_result(name, None, info.digest)
            self._image_listing.renew()
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
            self._image_listing.renew()

    def _known_app(self, app: str) -> None:
        if app not in self.running.config.apps:
            raise errors.DataMissing(
                f"no app named {app!r} is configured",
                path=paths.app(app),
            )

    # The image view for get

    def image_listing(self) -> tuple[dict[str, ImageInfo], bool]:
        """A recent listing of containerd's images, and whether containerd answered."""
        return self._image_listing.get()

    def _read_image_listing(self) -> tuple[dict[str, ImageInfo], bool]:
        try:
            return self.images.list(), True
        except errors.NetconfError as e:
            logger.debug("Cannot list images for get: %s", e.message)
            return {}, False

    def _list_images(self) -> dict[str, ImageInfo]:
        # A commit needs the images as they are now; get may as well use what it read.
        listed = self.images.list()
        self._image_listing.put((listed, True))
        return listed

    def _forget_listing(self) -> None:
        self._image_listing.forget()

    def _image_result(self, name: str, error: Exception | None, digest: str | None = None) -> None:
        message = image_error_message(error) if error is not None else None
        self._forget_listing()
        with self._image_lock:
            if message is None:
                self.image_view.errors.pop(name, None)
                logger.info("Imported image %r.", name)
            else:
                self.image_view.errors[name] = message

        for listener in list(self.image_listeners):
            try:
                listener(name, message, digest)
            except Exception:
                # Those told of the result must not turn an import into a failure.
                logger.exception("A listener to image imports failed.")
