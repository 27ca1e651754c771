"""Performing planned steps against the image store, the cluster and the forwarding table,
and taking them back.

The executor is thin on purpose: the planner has decided what to do and what undoes it. On
the first failure the steps already done are undone in reverse order; a failing undo is
logged and the remaining undos still run, because leaving more of the commit in place would
be worse. The original failure is what the client sees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from k3s_netconf import desired, errors, paths
from k3s_netconf.images.archive import resolve_archive
from k3s_netconf.planning.actions import (
    Action,
    ApplyApp,
    ApplyForwarding,
    DeleteApp,
    ImportImage,
    RemoveImage,
    Step,
)

logger = logging.getLogger(__name__)


class Images(Protocol):
    def import_archive(
        self, ref: str, archive: Path, sha256: str | None = None, *, error_path: str | None = None
    ) -> object: ...

    def remove(self, ref: str, *, error_path: str | None = None) -> None: ...


class Workloads(Protocol):
    def apply(self, app: desired.App) -> None: ...

    def delete(self, name: str) -> None: ...


class Forwarding(Protocol):
    def install(self, forwards: tuple[desired.Forward, ...]) -> None: ...


class Executor:
    def __init__(
        self,
        images: Images,
        workloads: Callable[[], Workloads],
        forwarding: Forwarding,
        images_folder: Path,
        on_image_result: Callable[[str, Exception | None], None] = lambda name, error: None,
    ) -> None:
        self._images = images
        self._forwarding = forwarding
        # The cluster client is made on first use, so a daemon started while the API server
        # is away still serves its datastore.
        self._workloads = workloads
        self._images_folder = images_folder
        self._on_image_result = on_image_result
        self._perform: dict[type, Callable[[Action], None]] = {
            ImportImage: self._import_image,  # type: ignore[dict-item]
            RemoveImage: self._remove_image,  # type: ignore[dict-item]
            ApplyApp: self._apply_app,  # type: ignore[dict-item]
            DeleteApp: self._delete_app,  # type: ignore[dict-item]
            ApplyForwarding: self._apply_forwarding,  # type: ignore[dict-item]
        }

    def run(self, steps: Sequence[Step]) -> None:
        """Perform every step, or none: on failure, undo the ones done and raise."""
        done: list[Step] = []
        for step in steps:
            try:
                self.perform(step.action)
            except Exception as failure:
                logger.warning(
                    "Could not %s: %s. Undoing %d earlier step(s).", step.action, failure, len(done)
                )
                self._undo(done)
                raise
            done.append(step)

    def run_all(self, steps: Sequence[Step]) -> list[Exception]:
        """Perform every step even when some fail, as reconciling on start does."""
        failures = []
        for step in steps:
            try:
                self.perform(step.action)
            except Exception as failure:  # noqa: BLE001 - one failed step must not stop the others
                logger.warning("Could not %s while reconciling: %s", step.action, failure)
                failures.append(failure)
        return failures

    def perform(self, action: Action) -> None:
        self._perform[type(action)](action)

    def _undo(self, done: list[Step]) -> None:
        for step in reversed(done):
            if step.undo is None:
                continue
            try:
                self.perform(step.undo)
            except Exception:
                logger.exception("Could not %s to undo a failed commit.", step.undo)

    def _import_image(self, action: ImportImage) -> None:
        image = action.image
        where = paths.image(image.name)
        try:
            archive = resolve_archive(
                image.archive, self._images_folder, error_path=f"{where}/ka:archive"
            )
            self._images.import_archive(image.name, archive, image.sha256, error_path=where)
        except Exception as e:
            self._on_image_result(image.name, e)
            raise
        self._on_image_result(image.name, None)

    def _remove_image(self, action: RemoveImage) -> None:
        self._images.remove(action.name)

    def _apply_app(self, action: ApplyApp) -> None:
        self._workloads().apply(action.app)

    def _delete_app(self, action: DeleteApp) -> None:
        self._workloads().delete(action.name)

    def _apply_forwarding(self, action: ApplyForwarding) -> None:
        self._forwarding.install(action.forwards)


def image_error_message(error: Exception) -> str:
    return error.message if isinstance(error, errors.NetconfError) else str(error)
