"""Which Pod changes and imports become notifications, what they hold, and what filters keep."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from protocol.xmlcheck import same_xml

from k3s_netconf import desired, errors, notifying
from k3s_netconf.kube.watching import PodChange
from k3s_netconf.observed import ContainerState, PodState

KA = "urn:k3s-netconf:yang:apps"
NF = notifying.NOTIFICATION_NS
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"


@dataclass
class RecordingListenerDouble:
    """Stands in for a session: the protocol tier drives real ones."""

    session_id: int = 7
    received: list[etree._Element] = field(default_factory=list)

    def notify(self, notification: etree._Element) -> None:
        self.received.append(notification)


def pod(phase: str | None, restarts: int = 0, reason: str | None = None, ip=None) -> PodState:
    container = ContainerState(state="waiting" if reason else "running", reason=reason)
    return PodState(
        "web-1", "web", phase=phase, restart_count=restarts, container=container, pod_ip=ip
    )


def subscribed(body: str = "") -> tuple[notifying.Notifier, RecordingListenerDouble]:
    notifier, listener = notifying.Notifier(), RecordingListenerDouble()
    operation = etree.fromstring(f'<create-subscription xmlns="{NF}">{body}</create-subscription>')
    notifier.subscribe(listener, operation)
    return notifier, listener


def leaves(content: etree._Element) -> dict[str, str]:
    return {etree.QName(c).localname: c.text for c in content}


def test_a_new_pod_has_a_phase_and_no_previous_phase():
    content = notifying.app_state_change(PodChange(None, pod("Pending")))
    assert leaves(content) == {
        "app": "web",
        "pod": "web-1",
        "phase": "Pending",
        "restart-count": "0",
    }


def test_a_pod_that_is_gone_has_a_previous_phase_and_no_phase():
    content = notifying.app_state_change(PodChange(pod("Running"), None))
    assert leaves(content) == {"app": "web", "pod": "web-1", "previous-phase": "Running"}


def test_a_restart_in_the_same_phase_is_published_with_its_count_and_reason():
    notifier, listener = subscribed()
    notifier.pod_changed(PodChange(pod("Running", 1), pod("Running", 2, "CrashLoopBackOff")))

    (message,) = listener.received
    (content,) = [c for c in message if c.tag != f"{{{NF}}}eventTime"]
    assert leaves(content)["restart-count"] == "2"
    assert leaves(content)["reason"] == "CrashLoopBackOff"


def test_a_pod_that_only_got_its_address_is_not_published():
    notifier, listener = subscribed()
    notifier.pod_changed(PodChange(pod("Running"), pod("Running", ip="10.42.0.9")))
    assert listener.received == []


def test_the_event_time_is_an_rfc_3339_time_in_utc_of_now():
    stamp = notifying.event_time()
    assert stamp.endswith("Z")
    parsed = datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == timedelta(0)
    assert abs(datetime.now(parsed.tzinfo) - parsed) < timedelta(minutes=1)


def test_a_filter_keeps_the_events_it_selects_and_drops_the_others():
    selector = (
        f'<filter><image-import xmlns="{KA}"><result>failure</result></image-import></filter>'
    )
    notifier, listener = subscribed(selector)
    notifier.image_result("example.com/a:1", None, "sha256:00")
    notifier.image_result("example.com/b:1", "the archive is missing", None)
    notifier.pod_changed(PodChange(None, pod("Pending")))

    names = [m.findtext(f".//{{{KA}}}name") for m in listener.received]
    assert names == ["example.com/b:1"]


def test_an_unsubscribed_session_receives_nothing_more():
    notifier, listener = subscribed()
    notifier.unsubscribe(listener.session_id)
    notifier.image_result("example.com/a:1", None, None)
    assert listener.received == []


def test_a_second_subscription_of_a_session_is_in_use():
    notifier, listener = subscribed()
    operation = etree.fromstring(f'<create-subscription xmlns="{NF}"/>')
    with pytest.raises(errors.InUse):
        notifier.subscribe(listener, operation)


def test_a_commit_becomes_a_config_change_with_one_edit_per_changed_entry():
    web, api = desired.App("web", "i:1"), desired.App("api", "i:1")
    old = desired.Config(
        images={"i:1": desired.Image("i:1", "a.tar")}, apps={"web": web, "api": api}
    )
    new = desired.Config(
        images={"i:1": desired.Image("i:1", "a.tar")},
        apps={"web": desired.App("web", "i:1", replicas=2)},
        rules={("tcp", 8080): desired.ForwardRule("tcp", 8080, "web", "http")},
    )

    content = notifying.config_change(4, "admin", old, new)
    expected = f"""
        <netconf-config-change xmlns="{NCN}">
          <changed-by><username>admin</username><session-id>4</session-id></changed-by>
          <datastore>running</datastore>
          <edit xmlns:ka="{KA}"><target>/ka:apps/ka:app[ka:name='api']</target>
            <operation>delete</operation></edit>
          <edit xmlns:ka="{KA}"><target>/ka:apps/ka:app[ka:name='web']</target>
            <operation>replace</operation></edit>
          <edit xmlns:ka="{KA}">
            <target>/ka:port-forwarding/ka:rule[ka:protocol='tcp'][ka:external-port='8080']</target>
            <operation>create</operation></edit>
        </netconf-config-change>"""
    assert same_xml(content, expected)


def test_a_commit_that_changes_nothing_sends_no_config_change():
    config = desired.Config(apps={"web": desired.App("web", "i:1")})
    notifier, listener = subscribed()
    notifier.config_changed(4, "admin", config, config)
    assert listener.received == []


def test_the_replay_log_keeps_only_the_newest_events_up_to_its_bound():
    notifier, listener = notifying.Notifier(replay_log=3), RecordingListenerDouble()
    for number in range(5):
        notifier.image_result(f"example.com/i:{number}", None, None)

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    operation = etree.fromstring(
        f'<create-subscription xmlns="{NF}"><startTime>{since}</startTime></create-subscription>'
    )
    notifier.subscribe(listener, operation)

    contents = [m[1] for m in listener.received]
    assert [c.findtext(f"{{{KA}}}name") for c in contents[:-1]] == [
        "example.com/i:2",
        "example.com/i:3",
        "example.com/i:4",
    ]
    assert contents[-1].tag == f"{{{notifying.NETMOD_NS}}}replayComplete"
