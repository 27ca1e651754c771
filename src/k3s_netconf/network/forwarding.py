"""The forwarding table in the management namespace, kept in line with the rules and the Pods.

A commit hands the rules over with ``install``, which replaces the table at once and fails
the commit when it cannot. Between commits a thread keeps the table following the Pods: woken
by the watch cache when a Pod changes (and every few seconds regardless), it surveys the
links (while there are rules or links to complete), renders the table from the rules and the
Pods' current addresses, and replaces it only when the rendered text differs from what it
installed last. It follows only while the watch cache is current, so a restart of the API
server or of the daemon never empties a table that still points at running Pods.

The table outlives the daemon on purpose: forwarding keeps working while the daemon
restarts, and the first pass after it starts renders the table anew.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from k3s_netconf import desired, errors, paths, refreshing
from k3s_netconf.network import commands, links, tables, targets
from k3s_netconf.observed import AppState, ForwardingState, RuleState
from k3s_netconf.settings import NetworkSettings

logger = logging.getLogger(__name__)

# Seconds between two passes when nothing wakes the thread: links are surveyed again, and
# a table that could not be installed is tried again.
RESYNC_SECONDS = 5.0
# Seconds between two looks at the watch cache while it is not current yet (on start, or
# while the API server is away), so the table follows soon after it is.
WAITING_SECONDS = 0.5
# Seconds after which a get wakes a reading of the table (counters, targets) for the next get.
LISTING_TTL = 1.0
# Seconds ``stop`` waits for the thread.
STOP_JOIN_SECONDS = 2.0

Key = tuple[str, int]


class Forwarder:
    def __init__(
        self,
        settings: NetworkSettings,
        apps: Callable[[], Mapping[str, AppState]],
        current: Callable[[], bool],
    ) -> None:
        self.settings = settings
        self._apps = apps
        # Whether ``apps()`` is known to be up to date (the watch cache is listed and watching).
        self._current = current
        self._forwards: tuple[desired.Forward, ...] = ()
        # The table last installed, rendered with zero counts; None until the first install.
        self._installed: str | None = None
        self._check = links.Check(None, ("the links have not been checked yet",))
        self._failure: str | None = None
        self._surveyed_at = float("-inf")
        self._lock = threading.Lock()
        self._listing = refreshing.Refreshed(
            "forwarding table listing", self._read_or_none, LISTING_TTL
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, forwards: tuple[desired.Forward, ...]) -> None:
        """Follow the Pods for these rules, as the running configuration has them."""
        with self._lock:
            self._forwards = forwards
        self._wake.set()
        self._thread = threading.Thread(target=self._run, name="forwarding", daemon=True)
        self._thread.start()
        self._listing.refresh_behind()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._listing.stop()
        if self._thread is not None:
            self._thread.join(STOP_JOIN_SECONDS)

    def pods_changed(self, *_: object) -> None:
        """Called by the watch cache on its thread: only wakes the forwarding thread."""
        self._wake.set()

    def install(self, forwards: tuple[desired.Forward, ...]) -> None:
        """Install the table for these rules now; OperationFailed when it cannot be."""
        with self._lock:
            previous, self._forwards = self._forwards, forwards
            self._survey()
            try:
                self._replace()
            except commands.CommandFailed as e:
                # A refused install is undone by nobody else: the rules of running stay followed.
                self._forwards = previous
                raise errors.OperationFailed(
                    f"cannot install the port forwarding table: {e}", path=paths.forwarding()
                ) from e

    # What get reports

    def state(self) -> ForwardingState:
        check, failure = self._check, self._failure
        problems = check.problems + ((failure,) if failure else ())
        return ForwardingState(check.address, self._list() is not None, problems)

    def rule_states(self) -> dict[Key, RuleState]:
        listing = self._list()
        return {(f.protocol, f.external_port): _rule_state(f, listing) for f in self._forwards}

    # The thread

    def _run(self) -> None:
        wait = 0.0
        while not self._stopping.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopping.is_set():
                return
            # Whatever goes wrong, the thread must live on: it is what keeps the table current.
            try:
                wait = RESYNC_SECONDS if self._pass() else WAITING_SECONDS
            except Exception:
                logger.exception("Keeping the forwarding table current failed; trying again.")
                wait = RESYNC_SECONDS

    def _pass(self) -> bool:
        """One look at links and Pods; False while the Pods are not known to be current."""
        with self._lock:
            if time.monotonic() - self._surveyed_at >= RESYNC_SECONDS:
                self._survey()
            if not self._current():
                return False
            try:
                self._replace()
            except commands.CommandFailed as e:
                self._failed(str(e))
            return True

    def _survey(self) -> None:
        self._surveyed_at = time.monotonic()
        if not (self._forwards or self.settings.create_missing):
            self._report(links.unsurveyed(self.settings))
            return

        # Imported at the first survey: see the netlink module for what pyroute2 costs.
        from k3s_netconf.network import netlink

        seen = netlink.survey(self.settings)
        if self.settings.create_missing:
            try:
                seen = netlink.complete(self.settings, seen)
            except netlink.CreateFailed as e:
                logger.warning("Could not create the missing links: %s", e)
        self._report(links.check(self.settings, seen))

    def _report(self, check: links.Check) -> None:
        # Not surveying is no fault of the links: only what a survey found is worth a warning.
        new = [p for p in check.problems if p not in self._check.problems + (links.UNSURVEYED,)]
        for problem in new:
            logger.warning("Port forwarding: %s.", problem)
        if self._check.problems and not check.problems:
            logger.info("Port forwarding: the links are complete.")
        self._check = check

    # Replacing the table

    def _replace(self) -> None:
        entries = targets.entries(self._forwards, self._apps())
        rendered = self._render(entries)
        if rendered == self._installed:
            return

        if not rendered and self._nothing_can_be_there():
            self._installed, self._failure = rendered, None
            return
        if rendered and self._check.blocker is not None:
            raise commands.CommandFailed(self._check.blocker)

        # Counts are read just before the swap and handed to the new table.
        counters = self._read().counters if rendered else {}
        table = self._render(entries, counters)
        commands.nft(
            self.settings.management_namespace,
            "-f",
            "-",
            script=tables.replacement(self.settings.table, table),
        )

        self._installed, self._failure = rendered, None
        # Read here, off the request path, so that the next get need not wait for nft.
        self._listing.renew()
        active = sum(1 for e in entries if e.target is not None)
        logger.info(
            "Replaced the forwarding table %r in %s: %d rule(s), %d active.\n%s",
            self.settings.table,
            commands.where(self.settings.management_namespace),
            len(entries),
            active,
            table or "(no table: no rules)",
        )

    def _render(
        self,
        entries: tuple[tables.Entry, ...],
        counters: Mapping[str, tables.Counter] | None = None,
    ) -> str:
        address = self._check.address or ""
        return tables.render(self.settings.table, address, entries, counters)

    def _nothing_can_be_there(self) -> bool:
        # No namespace or no nft: no table of ours can exist, so no rules is already true.
        namespace = self.settings.management_namespace
        return not commands.exists(namespace) or not commands.installed("nft")

    def _failed(self, reason: str) -> None:
        failure = f"the forwarding table could not be installed: {reason}"
        if failure != self._failure:
            logger.warning("Cannot install the port forwarding table: %s.", reason)
        self._failure = failure

    # Reading the table

    def _list(self) -> tables.Listing | None:
        return self._listing.get()

    def _read_or_none(self) -> tables.Listing | None:
        try:
            return self._read_table()
        except commands.CommandFailed as e:
            logger.debug("Cannot list the forwarding table: %s", e)
            return None

    def _read(self) -> tables.Listing:
        """The installed table's counters and targets; empty when there is no table."""
        return self._read_or_none() or tables.Listing({}, {})

    def _read_table(self) -> tables.Listing:
        text = commands.nft(
            self.settings.management_namespace,
            "-j",
            "list",
            "table",
            tables.FAMILY,
            self.settings.table,
        )
        return tables.listing(text)


def _rule_state(forward: desired.Forward, listing: tables.Listing | None) -> RuleState:
    if listing is None:
        return RuleState()

    target = listing.targets.get((forward.protocol, forward.external_port))
    counter = listing.counters.get(tables.counter_name(forward.protocol, forward.external_port))
    return RuleState(
        target_address=target.address if target else None,
        target_port=target.port if target else None,
        active=target is not None,
        packets=counter.packets if counter else None,
        bytes=counter.bytes if counter else None,
    )
