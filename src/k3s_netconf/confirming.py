"""Confirmed commits (RFC 6241 section 8.4): a commit that undoes itself unless confirmed.

An operator who changes a box remotely can lock themselves out with the change itself. A
confirmed commit is made like any commit, and running as it was before is kept, in memory and
on disk, until a confirming commit. When the confirm timeout passes, the session that made it
ends (without ``<persist>``), or ``<cancel-commit>`` comes, the kept configuration is committed
back through the same transaction, so the cluster, the images and the NAT table follow. The
file survives a crash of the daemon, and the next start reverts what was never confirmed.

Follow-up confirmed commits extend the window and re-arm the timer, but roll back to where
the first one started. Without ``<persist>`` only the session that made the confirmed commit
may follow it up, confirm or cancel it; with ``<persist>`` any session may, naming it with
``<persist-id>``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from k3s_netconf import errors
from k3s_netconf.commits import Commits
from k3s_netconf.datastore import persisting
from k3s_netconf.datastore.store import Datastore, validated

logger = logging.getLogger(__name__)

# RFC 6241 section 8.4.5.1: the confirm timeout when the commit gives none.
DEFAULT_TIMEOUT = 600
# Seconds before a rollback that failed (the cluster unreachable, say) is tried again.
RETRY_SECONDS = 5.0
# The file beside running that holds running as it was before the pending confirmed commit.
ROLLBACK_FILE = "confirm-rollback.xml"


@dataclass(frozen=True)
class Request:
    """The confirmed-commit parameters of one commit or cancel-commit."""

    confirmed: bool = False
    timeout: int = DEFAULT_TIMEOUT
    persist: str | None = None
    persist_id: str | None = None


@dataclass
class Pending:
    """A confirmed commit waiting for its confirmation."""

    before: etree._Element
    session_id: int
    persist: str | None
    timer: threading.Timer
    # Set when a rollback failed, so that the timer is retrying it.
    retrying: bool = False


class ConfirmedCommits:
    def __init__(self, commits: Commits, running: Datastore, reverted: Callable[[], None]) -> None:
        self.commits = commits
        self.running = running
        self.path = running.path.parent / ROLLBACK_FILE
        # Called after a rollback, so that the service can bring the candidate along.
        self._reverted = reverted
        self._pending: Pending | None = None
        # Held across each commit, confirmation and rollback, so that a timer firing while a
        # confirming commit runs finds it confirmed instead of undoing it half way.
        self._lock = threading.Lock()

    def recover(self, running_from_startup: bool) -> None:
        """On start: undo a confirmed commit that was pending when the daemon stopped."""
        before = persisting.load(self.path)
        if before is None:
            return

        if running_from_startup:
            logger.info(
                "Dropped the rollback point of an unconfirmed commit: running starts "
                "from the startup configuration."
            )
        else:
            self.running.replace(validated(self.running.schema, before))
            logger.warning(
                "A confirmed commit was still unconfirmed when the daemon stopped; "
                "running goes back to the configuration from before it."
            )
        persisting.remove(self.path)

    def stop(self) -> None:
        # The rollback file stays: the next start reverts what is still unconfirmed.
        with self._lock:
            if self._pending is not None:
                self._pending.timer.cancel()

    # Commits

    def commit(self, tree: etree._Element, session_id: int, request: Request) -> None:
        """Commit ``tree``: confirmed, confirming or plain, as ``request`` says."""
        with self._lock:
            self._check_follow_up(session_id, request.persist_id)
            starts = request.confirmed and self._pending is None
            before = self.running.tree
            if starts:
                # On disk before anything changes, so that a crash half way is undone too.
                persisting.save(self.path, before)

            try:
                self.commits.commit(tree, session_id)
            except BaseException:
                if starts:
                    persisting.remove(self.path)
                raise

            if request.confirmed:
                self._arm(before, session_id, request)
            else:
                self._confirmed(session_id)

    def cancel(self, session_id: int, persist_id: str | None) -> None:
        """cancel-commit: roll back the pending confirmed commit now."""
        with self._lock:
            if self._pending is None:
                raise errors.OperationFailed(
                    "no confirmed commit is pending, so there is nothing to cancel",
                    error_type="protocol",
                )
            self._check_follow_up(session_id, persist_id)
            self._revert(f"session {session_id} cancelled it", raising=True)

    def session_ended(self, session_id: int) -> None:
        """RFC 6241 8.4.1: a confirmed commit without persist ends with its session."""
        with self._lock:
            pending = self._pending
            if pending is not None and pending.persist is None and pending.session_id == session_id:
                self._revert(f"session {session_id} ended", raising=False)

    def _check_follow_up(self, session_id: int, persist_id: str | None) -> None:
        pending = self._pending
        if pending is None:
            if persist_id is not None:
                raise _bad_persist_id("no confirmed commit is pending, so no persist-id matches")
            return

        if pending.persist is None:
            if persist_id is not None:
                raise _bad_persist_id(
                    "the pending confirmed commit was made without <persist>; leave "
                    "<persist-id> out and use the session that made it"
                )
            if pending.session_id != session_id:
                raise errors.InUse(
                    f"session {pending.session_id} has a confirmed commit pending; only that "
                    "session can commit, confirm or cancel until it is confirmed or rolled back",
                    error_type="protocol",
                    info={"session-id": str(pending.session_id)},
                )
        elif persist_id != pending.persist:
            raise _bad_persist_id(
                "a persistent confirmed commit is pending; give the value of its <persist> as "
                "<persist-id>"
                if persist_id is None
                else f"persist-id {persist_id!r} does not match the pending confirmed commit"
            )

    # The window

    def _arm(self, before: etree._Element, session_id: int, request: Request) -> None:
        if self._pending is not None:
            # A follow-up rolls back to where the first confirmed commit started.
            self._pending.timer.cancel()
            before = self._pending.before

        timer = self._start_timer(request.timeout)
        self._pending = Pending(before, session_id, request.persist, timer)
        logger.info(
            "Session %d made a confirmed commit; it is rolled back unless confirmed within %d s.",
            session_id,
            request.timeout,
        )

    def _confirmed(self, session_id: int) -> None:
        if self._pending is None:
            return
        self._pending.timer.cancel()
        self._pending = None
        persisting.remove(self.path)
        logger.info("Session %d confirmed the pending confirmed commit.", session_id)

    def _start_timer(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self._timed_out)
        timer.name = "confirm-timeout"
        timer.daemon = True
        timer.start()
        return timer

    def _timed_out(self) -> None:
        timer = threading.current_thread()
        with self._lock:
            # A confirmation or a rollback may have come while this waited for the lock.
            pending = self._pending
            if pending is not None and pending.timer is timer:
                reason = "retrying" if pending.retrying else "its confirm timeout passed"
                self._revert(reason, raising=False)

    def _revert(self, reason: str, raising: bool) -> None:
        pending = self._pending
        assert pending is not None
        pending.timer.cancel()
        logger.info(
            "Rolling back the confirmed commit of session %d: %s.", pending.session_id, reason
        )

        try:
            self.commits.commit(pending.before, pending.session_id)
        except Exception as e:
            # Still pending, and on disk: the timer tries again, and so does the next start.
            logger.error(
                "Could not roll back the confirmed commit: %s; trying again in %.0f s.",
                e,
                RETRY_SECONDS,
            )
            pending.timer = self._start_timer(RETRY_SECONDS)
            pending.retrying = True
            if raising:
                raise
            return

        self._pending = None
        persisting.remove(self.path)
        self._reverted()
        logger.info("Rolled back the confirmed commit of session %d.", pending.session_id)


def _bad_persist_id(message: str) -> errors.InvalidValue:
    return errors.InvalidValue(message, error_type="protocol", info={"bad-element": "persist-id"})
