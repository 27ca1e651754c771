"""Performing planned steps against the image store, the cluster and the forwarding table,
and taking them back.

The executor is thin on purpose: the planner has decided what to do and what undoes it. On
the first failure the steps already done are undone in reverse order; a failing undo is
logged and the remaining undos still run, because leaving more of the commit in place would
be worse. The original failure is what the client sees.

Neighbouring steps that apply apps, or that delete apps, do not depend on each other, so they
run a few at a time: a commit of a hundred apps is a hundred API requests, and one after
another they spend most of the commit waiting on the API server. Kinds still follow each
other in the planner's order. Once a step of such a batch fails, no other is started; those
in flight finish, and the ones that succeeded are undone with the rest. Deleted apps wait
for their Pods to go together, after the batch's Deployments are deleted.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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

    def delete_deployment(self, name: str) -> None: ...

    def wait_until_no_pods(self, apps: Collection[str]) -> Mapping[str, Exception]: ...


class Forwarding(Protocol):
    def install(self, forwards: tuple[desired.Forward, ...]) -> None: ...


class NotStarted:
    """The outcome of a step left out because another step of its batch had failed."""


NOT_STARTED = NotStarted()

# What became of one step: None when it was done, else its failure or NOT_STARTED.
Outcome = Exception | NotStarted | None

# The kinds of step that may run at the same time as their neighbours of the same kind.
CONCURRENT = (ApplyApp, DeleteApp)


class Executor:
    def __init__(
        self,
        images: Images,
        workloads: Callable[[], Workloads],
        forwarding: Forwarding,
        images_folder: Path,
        on_image_result: Callable[[str, Exception | None], None] = lambda name, error: None,
        concurrency: int = 1,
    ) -> None:
        self._images = images
        self._forwarding = forwarding
        # The cluster client is made on first use, so a daemon started while the API server
        # is away still serves its datastore.
        self._workloads = workloads
        self._images_folder = images_folder
        self._on_image_result = on_image_result
        self._concurrency = concurrency
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
        for batch in batches(steps):
            outcomes = self._perform_batch([step.action for step in batch], stop_at_failure=True)
            paired = list(zip(batch, outcomes, strict=True))
            done.extend(step for step, outcome in paired if outcome is None)

            # The first failure in the planner's order, as when the steps ran one by one.
            failed = [(step, o) for step, o in paired if isinstance(o, Exception)]
            if failed:
                step, failure = failed[0]
                logger.warning(
                    "Could not %s: %s. Undoing %d earlier step(s).", step.action, failure, len(done)
                )
                self._undo(done)
                raise failure

    def run_all(self, steps: Sequence[Step]) -> list[Exception]:
        """Perform every step even when some fail, as reconciling on start does."""
        failures = []
        for batch in batches(steps):
            outcomes = self._perform_batch([step.action for step in batch], stop_at_failure=False)
            for step, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    logger.warning("Could not %s while reconciling: %s", step.action, outcome)
                    failures.append(outcome)
        return failures

    def perform(self, action: Action) -> None:
        self._perform[type(action)](action)

    def _undo(self, done: list[Step]) -> None:
        undos = [step.undo for step in reversed(done) if step.undo is not None]
        for batch in batches([Step(undo) for undo in undos]):
            outcomes = self._perform_batch([step.action for step in batch], stop_at_failure=False)
            for step, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    logger.error(
                        "Could not %s to undo a failed commit.", step.action, exc_info=outcome
                    )

    def _perform_batch(self, actions: Sequence[Action], stop_at_failure: bool) -> list[Outcome]:
        """The outcome of each action, performed a few at a time when there are several."""
        if len(actions) > 1 and isinstance(actions[0], DeleteApp):
            return self._delete_apps(actions, stop_at_failure)  # type: ignore[arg-type]
        calls = [functools.partial(self.perform, action) for action in actions]
        return concurrently(calls, self._concurrency, stop_at_failure)

    def _delete_apps(self, actions: Sequence[DeleteApp], stop_at_failure: bool) -> list[Outcome]:
        workloads = self._workloads()
        calls = [functools.partial(workloads.delete_deployment, a.name) for a in actions]
        outcomes = concurrently(calls, self._concurrency, stop_at_failure)
        if stop_at_failure and any(isinstance(o, Exception) for o in outcomes):
            # The commit is undone at once: the deleted apps are applied again anyway.
            return outcomes

        paired = list(zip(actions, outcomes, strict=True))
        deleted = [action.name for action, outcome in paired if outcome is None]
        try:
            lingering: Mapping[str, Exception] = workloads.wait_until_no_pods(deleted)
        except Exception as e:  # noqa: BLE001 - it becomes the outcome of a step
            # Whether the Pods went is unknown: the first app waited for fails, as it would
            # have one app at a time, and the others are undone with the rest of the commit.
            lingering = {deleted[0]: e}
        return [lingering.get(action.name, outcome) for action, outcome in paired]

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


def batches(steps: Sequence[Step]) -> list[list[Step]]:
    """The steps in order, neighbours of a kind that may run together grouped in one batch."""
    grouped: list[list[Step]] = []
    for step in steps:
        kind = type(step.action)
        if grouped and kind in CONCURRENT and type(grouped[-1][0].action) is kind:
            grouped[-1].append(step)
        else:
            grouped.append([step])
    return grouped


def concurrently(
    calls: Sequence[Callable[[], object]], workers: int, stop_at_failure: bool
) -> list[Outcome]:
    """Make the calls, up to ``workers`` at a time; the outcome of each, in order.

    With ``stop_at_failure``, calls not yet started when one fails are left out. Each call
    runs in a copy of the caller's context, so its log lines name the same session.
    """
    outcomes: list[Outcome] = [NOT_STARTED] * len(calls)
    failed = threading.Event()

    def make(index: int) -> None:
        if stop_at_failure and failed.is_set():
            return
        try:
            calls[index]()
        except Exception as e:  # noqa: BLE001 - the caller decides what a failure means
            outcomes[index] = e
            failed.set()
        else:
            outcomes[index] = None

    if workers <= 1 or len(calls) <= 1:
        for index in range(len(calls)):
            make(index)
        return outcomes

    with ThreadPoolExecutor(min(workers, len(calls)), thread_name_prefix="commit") as pool:
        for index in range(len(calls)):
            pool.submit(contextvars.copy_context().run, make, index)
    return outcomes


def image_error_message(error: Exception) -> str:
    return error.message if isinstance(error, errors.NetconfError) else str(error)
