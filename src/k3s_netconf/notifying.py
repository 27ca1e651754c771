"""Event notifications (RFC 5277): subscriptions on the NETCONF stream and what they receive.

The service side of notifications. A session subscribes with ``<create-subscription>``; the
watch cache's Pod changes and the ends of image imports become the model's notifications,
each stamped with its event time, and go to every subscribed session whose filter selects
them. The protocol layer only queues and writes the finished ``<notification>`` elements, so
nothing here waits for a client: a slow reader delays only its own session.

Only the default stream, NETCONF, exists. Its newest events are kept in memory, bounded in
count, so that a subscription with a startTime first receives those since then, then
``replayComplete``; a stopTime ends the subscription with ``notificationComplete``.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from lxml import etree

from k3s_netconf import desired, errors, paths, xmltext
from k3s_netconf.datastore import filtering
from k3s_netconf.kube.watching import PodChange
from k3s_netconf.schema import APPS_NS

logger = logging.getLogger(__name__)

NOTIFICATION_NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
NETMOD_NS = "urn:ietf:params:xml:ns:netmod:notification"
STREAM = "NETCONF"
# Events kept for replay (RFC 5277 3.2): the newest so many, whatever their age.
REPLAY_LOG = 1000
PARAMETERS = frozenset({"stream", "filter", "startTime", "stopTime"})


class Listener(Protocol):
    """What a subscription needs of its session."""

    session_id: int

    def notify(self, notification: etree._Element) -> None: ...


@dataclass(frozen=True)
class Event:
    """One published event, as the replay log keeps it."""

    time: datetime
    stamp: str
    content: etree._Element


@dataclass(frozen=True)
class Subscription:
    session: Listener
    filter: etree._Element | None
    # When the subscription ends by itself (stopTime); None lasts as long as the session.
    stop: datetime | None = None

    def selects(self, content: etree._Element) -> bool:
        if self.filter is None:
            return True

        # The filter applies to the notification's content as it would to data (RFC 5277 3.6).
        holder = etree.Element("content")
        holder.append(_copy(content))
        return len(filtering.subtree(holder, self.filter)) > 0

    def send(self, event: Event) -> None:
        # Events after the stopTime belong to no one, also before its timer ended the subscription.
        if self.stop is not None and event.time > self.stop:
            return
        if self.selects(event.content):
            self.session.notify(notification(event.stamp, event.content))


class Notifier:
    def __init__(self, replay_log: int = REPLAY_LOG) -> None:
        self._guard = threading.Lock()
        self._subscriptions: dict[int, Subscription] = {}
        self._timers: dict[int, threading.Timer] = {}
        self._log: deque[Event] = deque(maxlen=replay_log)
        self.log_created = event_time()

    def subscribe(self, session: Listener, operation: etree._Element) -> None:
        """Carry out a ``<create-subscription>``: check its parameters and register it."""
        _check_parameters(operation)
        _check_stream(operation)
        now = datetime.now(UTC)
        start, stop = _times(operation, now)
        subscription = Subscription(session, _filter(operation), stop)

        # Replay, registration and live events all happen under the guard, so that no event
        # is sent twice, none is lost in between, and the replayed ones come first.
        with self._guard:
            if session.session_id in self._subscriptions:
                raise errors.InUse(
                    "this session already has a subscription; RFC 5277 allows one per session, "
                    "so open another session for a second one",
                    error_type="protocol",
                )
            if start is not None:
                self._replay(subscription, start)
            if stop is not None and stop <= now:
                # Everything asked for lay in the past: the subscription is over at once.
                session.notify(notification(event_time(), _completion("notificationComplete")))
                return
            self._subscriptions[session.session_id] = subscription
            if stop is not None:
                self._end_at(subscription, (stop - now).total_seconds())
        logger.info(
            "Session %d subscribed to the %s stream%s%s.",
            session.session_id,
            STREAM,
            " with a filter" if subscription.filter is not None else "",
            f", replaying from {start.isoformat()}" if start is not None else "",
        )

    def unsubscribe(self, session_id: int) -> None:
        with self._guard:
            ended = self._subscriptions.pop(session_id, None)
            timer = self._timers.pop(session_id, None)
        if timer is not None:
            timer.cancel()
        if ended is not None:
            logger.info("The subscription of session %d ended with its session.", session_id)

    def publish(self, content: etree._Element) -> None:
        """Log one event for replay and send it to every subscription that selects it."""
        now = datetime.now(UTC)
        event = Event(now, event_time(now), content)
        with self._guard:
            self._log.append(event)
            # Sending only queues the message with its session, so it may hold the guard.
            for subscription in self._subscriptions.values():
                subscription.send(event)
            count = len(self._subscriptions)
        logger.debug("Published %s to %d subscription(s).", _name(content), count)

    def streams(self) -> etree._Element:
        """``/netconf/streams`` of the nc-notifications module (RFC 5277 3.2.5), for get."""
        root = etree.Element(f"{{{NETMOD_NS}}}netconf", nsmap={None: NETMOD_NS})
        stream = etree.SubElement(
            etree.SubElement(root, f"{{{NETMOD_NS}}}streams"), f"{{{NETMOD_NS}}}stream"
        )
        for name, text in (
            ("name", STREAM),
            ("description", "Changes of the apps' Pods, image imports and commits."),
            ("replaySupport", "true"),
            ("replayLogCreationTime", self.log_created),
        ):
            etree.SubElement(stream, f"{{{NETMOD_NS}}}{name}").text = text
        return root

    def _replay(self, subscription: Subscription, start: datetime) -> None:
        for event in self._log:
            if event.time >= start:
                subscription.send(event)
        subscription.session.notify(notification(event_time(), _completion("replayComplete")))

    def _end_at(self, subscription: Subscription, seconds: float) -> None:
        session_id = subscription.session.session_id
        timer = threading.Timer(seconds, self._complete, args=(subscription,))
        timer.daemon = True
        self._timers[session_id] = timer
        timer.start()

    def _complete(self, subscription: Subscription) -> None:
        session_id = subscription.session.session_id
        with self._guard:
            if self._subscriptions.get(session_id) is not subscription:
                return
            del self._subscriptions[session_id]
            self._timers.pop(session_id, None)
            subscription.session.notify(
                notification(event_time(), _completion("notificationComplete"))
            )
        logger.info("The subscription of session %d reached its stopTime.", session_id)

    # The events of the model

    def pod_changed(self, change: PodChange) -> None:
        """A watch cache subscriber: phase changes, restarts and Pods gone become notifications."""
        if change.phase_changed or change.restarted or change.current is None:
            self.publish(app_state_change(change))

    def image_result(self, name: str, error: str | None, digest: str | None) -> None:
        self.publish(image_import(name, error, digest))

    def config_changed(
        self, session_id: int, username: str, old: desired.Config, new: desired.Config
    ) -> None:
        content = config_change(session_id, username, old, new)
        if content is not None:
            self.publish(content)


def app_state_change(change: PodChange) -> etree._Element:
    """The model's app-state-change; a Pod that is gone has a previous-phase and no phase."""
    current, previous = change.current, change.previous
    pod = current or previous
    assert pod is not None
    content = etree.Element(_ka("app-state-change"), nsmap={None: APPS_NS})
    _leaf(content, "app", pod.app)
    _leaf(content, "pod", pod.name)
    if current is not None:
        _leaf(content, "phase", current.phase)
    if previous is not None:
        _leaf(content, "previous-phase", previous.phase)
    if current is not None:
        _leaf(content, "restart-count", str(current.restart_count))
        _leaf(content, "reason", current.container.reason)
    return content


def image_import(name: str, error: str | None, digest: str | None) -> etree._Element:
    content = etree.Element(_ka("image-import"), nsmap={None: APPS_NS})
    _leaf(content, "name", name)
    _leaf(content, "result", "failure" if error is not None else "success")
    _leaf(content, "digest", digest)
    _leaf(content, "error", error)
    return content


def config_change(
    session_id: int, username: str, old: desired.Config, new: desired.Config
) -> etree._Element | None:
    """RFC 6470's netconf-config-change of running, one edit per list entry; None if unchanged."""
    edits = [
        *_edits(old.images, new.images, paths.image),
        *_edits(old.apps, new.apps, paths.app),
        *_edits(old.rules, new.rules, _rule_path),
    ]
    if not edits:
        return None

    content = etree.Element(f"{{{NCN}}}netconf-config-change", nsmap={None: NCN})
    changed_by = etree.SubElement(content, f"{{{NCN}}}changed-by")
    etree.SubElement(changed_by, f"{{{NCN}}}username").text = xmltext.clean(username)
    etree.SubElement(changed_by, f"{{{NCN}}}session-id").text = str(session_id)
    etree.SubElement(content, f"{{{NCN}}}datastore").text = "running"
    for target, operation in edits:
        edit = etree.SubElement(content, f"{{{NCN}}}edit")
        # The target's prefixes must resolve where the client reads it.
        etree.SubElement(edit, f"{{{NCN}}}target", nsmap=paths.PREFIXES).text = target
        etree.SubElement(edit, f"{{{NCN}}}operation").text = operation
    return content


def _edits(old: dict, new: dict, path) -> list[tuple[str, str]]:
    edits = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            edits.append((path(key), "create"))
        elif key not in new:
            edits.append((path(key), "delete"))
        elif old[key] != new[key]:
            edits.append((path(key), "replace"))
    return edits


def _rule_path(key: tuple[str, int]) -> str:
    protocol, port = key
    keys = {"protocol": protocol, "external-port": str(port)}
    return paths.entry(paths.forwarding(), paths.APPS_NS, "rule", keys)


def _completion(name: str) -> etree._Element:
    # replayComplete and notificationComplete (RFC 5277 section 4) carry nothing but their name.
    return etree.Element(f"{{{NETMOD_NS}}}{name}", nsmap={None: NETMOD_NS})


def notification(stamp: str, content: etree._Element) -> etree._Element:
    message = etree.Element(_nf("notification"), nsmap={None: NOTIFICATION_NS})
    etree.SubElement(message, _nf("eventTime")).text = stamp
    message.append(_copy(content))
    return message


def event_time(moment: datetime | None = None) -> str:
    """A moment (now by default) as an RFC 3339 date-time in UTC, to the millisecond."""
    moment = moment or datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# The parameters of create-subscription


def _check_parameters(operation: etree._Element) -> None:
    for child in operation:
        if not isinstance(child.tag, str):
            continue
        q = etree.QName(child)
        if q.namespace not in (NOTIFICATION_NS, NC, None) or q.localname not in PARAMETERS:
            raise errors.UnknownElement(
                f"{q.localname!r} is not a parameter of 'create-subscription'",
                error_type="protocol",
                info={"bad-element": q.localname},
            )


def _check_stream(operation: etree._Element) -> None:
    stream = _param(operation, "stream")
    name = (stream.text or "").strip() if stream is not None else STREAM
    if name != STREAM:
        raise errors.InvalidValue(
            f"there is no stream {name!r}; the only stream is {STREAM!r}",
            error_type="protocol",
            info={"bad-element": "stream"},
        )


def _times(operation: etree._Element, now: datetime) -> tuple[datetime | None, datetime | None]:
    """startTime and stopTime, checked as RFC 5277 2.1.1 says."""
    start, stop = _time(operation, "startTime"), _time(operation, "stopTime")
    if stop is not None and start is None:
        raise errors.MissingElement(
            "stopTime ends a replay, so it needs a startTime",
            error_type="protocol",
            info={"bad-element": "startTime"},
        )
    if start is not None and start > now:
        raise errors.BadElement(
            f"startTime {start.isoformat()} lies in the future; the replay log holds only "
            "what happened already",
            error_type="protocol",
            info={"bad-element": "startTime"},
        )
    if stop is not None and start is not None and stop < start:
        raise errors.BadElement(
            "stopTime is earlier than startTime",
            error_type="protocol",
            info={"bad-element": "stopTime"},
        )
    return start, stop


def _time(operation: etree._Element, name: str) -> datetime | None:
    found = _param(operation, name)
    if found is None:
        return None

    text = (found.text or "").strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise errors.BadElement(
            f"{name} {text!r} is not a date-and-time with a time zone, such as "
            "'2026-12-04T10:00:00Z'",
            error_type="protocol",
            info={"bad-element": name},
        )
    return value


def _filter(operation: etree._Element) -> etree._Element | None:
    found = _param(operation, "filter")
    if found is None:
        return None

    kind = found.get("type", "subtree")
    if kind != "subtree":
        raise errors.OperationNotSupported(
            f"filter type {kind!r} is not supported; use a subtree filter",
            info={"bad-attribute": "type", "bad-element": "filter"},
        )
    return _copy(found)


def _param(operation: etree._Element, name: str) -> etree._Element | None:
    # RFC 5277 puts the parameters in its own namespace; clients such as ncclient send the
    # filter in the base one.
    for tag in (f"{{{NOTIFICATION_NS}}}{name}", f"{{{NC}}}{name}", name):
        found = operation.find(tag)
        if found is not None:
            return found
    return None


def _leaf(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, _ka(name)).text = xmltext.clean(text)


def _copy(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


def _name(content: etree._Element) -> str:
    return etree.QName(content).localname


def _ka(name: str) -> str:
    return f"{{{APPS_NS}}}{name}"


def _nf(name: str) -> str:
    return f"{{{NOTIFICATION_NS}}}{name}"
