"""Event notifications (RFC 5277) over SSH: subscribing, what arrives, and the refusals.

An import-image rpc of an archive that does not exist is the event these tests cause: it fails
before containerd is asked anything, so the tier needs no image store, and every failure ends
in an image-import notification.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from protocol import connecting
from protocol.xmlcheck import NC, is_ok, same_xml, the_error

pytestmark = pytest.mark.protocol

NOTIFICATION = "urn:ietf:params:netconf:capability:notification:1.0"
INTERLEAVE = "urn:ietf:params:netconf:capability:interleave:1.0"
NF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
KA = "urn:k3s-netconf:yang:apps"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"

NETMOD = "urn:ietf:params:xml:ns:netmod:notification"
HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

# Seconds a notification may take to arrive before the test gives up on it.
WAIT = 10


def import_missing(name: str = "example.com/missing:1.0", archive: str = "missing.tar") -> str:
    return (
        f'<import-image xmlns="{KA}"><name>{name}</name><archive>{archive}</archive></import-image>'
    )


def subscribe(body: str = "") -> str:
    return f'<create-subscription xmlns="{NF}">{body}</create-subscription>'


def exchange(client, body: str) -> tuple[etree._Element, etree._Element]:
    """The reply to an rpc and the one notification it causes, in whichever order they came:
    with interleave, the event's notification may overtake the rpc's reply."""
    messages = {m.tag: m for m in (client.rpc(body), client.read_reply())}
    assert set(messages) == {f"{{{NC}}}rpc-reply", f"{{{NF}}}notification"}, messages
    return messages[f"{{{NC}}}rpc-reply"], messages[f"{{{NF}}}notification"]


def content_of(notification: etree._Element) -> etree._Element:
    """The event element of a <notification>, the one child after eventTime."""
    children = [c for c in notification if c.tag != f"{{{NF}}}eventTime"]
    assert len(children) == 1, etree.tostring(notification)
    return children[0]


def test_the_server_advertises_notification_and_interleave(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as m:
        assert NOTIFICATION in m.server_capabilities
        assert INTERLEAVE in m.server_capabilities


def test_a_failed_import_image_sends_an_image_import_failure_notification(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as m:
        m.create_subscription()
        with pytest.raises(Exception, match="missing.tar"):
            m.dispatch(etree.fromstring(import_missing()))

        received = m.take_notification(block=True, timeout=WAIT)
        assert received is not None, "no notification arrived"
        notification = etree.fromstring(received.notification_xml.encode())

    assert notification.tag == f"{{{NF}}}notification"
    stamp = notification.findtext(f"{{{NF}}}eventTime")
    assert datetime.fromisoformat(stamp).tzinfo is not None, stamp

    event = content_of(notification)
    error = event.findtext(f"{{{KA}}}error")
    assert "missing.tar" in error
    expected = (
        f'<image-import xmlns="{KA}"><name>example.com/missing:1.0</name>'
        f"<result>failure</result><error>{error}</error></image-import>"
    )
    assert same_xml(event, expected)


def test_the_reply_to_create_subscription_comes_before_any_notification(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        assert is_ok(client.rpc(subscribe()))
        reply, notification = exchange(client, import_missing())
        assert the_error(reply)["tag"] == "invalid-value"
        assert content_of(notification).tag == f"{{{KA}}}image-import"


def test_rpcs_keep_working_while_the_session_is_subscribed(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as m:
        m.create_subscription()
        for _ in range(3):
            reply = m.get_config(source="running")
            assert reply.ok
            with pytest.raises(Exception, match="missing.tar"):
                m.dispatch(etree.fromstring(import_missing()))

        received = [m.take_notification(block=True, timeout=WAIT) for _ in range(3)]
        assert all(n is not None for n in received)
        assert m.get(filter=("subtree", f'<apps xmlns="{KA}"/>')).ok


def test_a_filter_drops_the_notifications_it_does_not_select(netconf_daemon):
    wanted, other = "example.com/wanted:1.0", "example.com/other:1.0"
    selector = f'<image-import xmlns="{KA}"><name>{wanted}</name></image-import>'
    with connecting.ncclient(netconf_daemon) as m:
        m.create_subscription(filter=("subtree", selector))
        for name in (other, wanted):
            with pytest.raises(Exception, match="missing.tar"):
                m.dispatch(etree.fromstring(import_missing(name)))

        received = m.take_notification(block=True, timeout=WAIT)
        assert received is not None
        event = content_of(etree.fromstring(received.notification_xml.encode()))
        assert event.findtext(f"{{{KA}}}name") == wanted
        # The other import came first: had the filter let it through, it would have been first.
        assert m.take_notification(block=False) is None


def test_a_session_without_a_subscription_receives_no_notifications(netconf_daemon):
    with connecting.hello(netconf_daemon) as quiet, connecting.hello(netconf_daemon) as loud:
        assert is_ok(loud.rpc(subscribe()))
        quiet.rpc(import_missing())
        assert loud.read_reply().tag == f"{{{NF}}}notification"

        # The next message of the quiet session is the reply to its next rpc, not an event.
        reply = quiet.rpc("<get-config><source><running/></source></get-config>")
        assert reply.tag == f"{{{NC}}}rpc-reply"
        assert reply.find(f"{{{NC}}}data") is not None


def test_a_second_subscription_on_one_session_is_refused_as_in_use(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        assert is_ok(client.rpc(subscribe()))
        error = the_error(client.rpc(subscribe()))
        assert (error["type"], error["tag"]) == ("protocol", "in-use")
        assert "already" in error["message"]

        # The first subscription still works.
        exchange(client, import_missing())


@pytest.mark.parametrize(
    ("body", "kind", "tag", "bad_element"),
    [
        ("<stream>SYSLOG</stream>", "protocol", "invalid-value", "stream"),
        ("<startTime>2999-01-01T00:00:00Z</startTime>", "protocol", "bad-element", "startTime"),
        ("<stopTime>2999-01-01T00:00:00Z</stopTime>", "protocol", "missing-element", "startTime"),
        (
            "<startTime>2026-01-02T00:00:00Z</startTime><stopTime>2026-01-01T00:00:00Z</stopTime>",
            "protocol",
            "bad-element",
            "stopTime",
        ),
        ("<startTime>yesterday</startTime>", "protocol", "bad-element", "startTime"),
        ("<startTime>2026-01-01T00:00:00</startTime>", "protocol", "bad-element", "startTime"),
        ("<colour>red</colour>", "protocol", "unknown-element", "colour"),
        (
            '<filter type="xpath" select="/ka:apps"/>',
            "protocol",
            "operation-not-supported",
            "filter",
        ),
    ],
    ids=[
        "unknown-stream",
        "start-time-in-the-future",
        "stop-time-alone",
        "stop-before-start",
        "start-time-not-a-time",
        "start-time-without-a-zone",
        "unknown",
        "xpath",
    ],
)
def test_a_bad_create_subscription_gets_the_rfc_5277_error_and_subscribes_nothing(
    netconf_daemon, body, kind, tag, bad_element
):
    with connecting.hello(netconf_daemon) as client:
        error = the_error(client.rpc(subscribe(body)))
        assert (error["type"], error["tag"]) == (kind, tag), error
        assert error["info"].get("bad-element") == bad_element, error
        assert error["message"]

        # Nothing was subscribed: a subscription may still be made, and works.
        assert is_ok(client.rpc(subscribe()))
        exchange(client, import_missing())


def test_the_config_change_module_is_advertised_with_its_revision(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as m:
        advertised = list(m.server_capabilities)
    assert f"{NCN}?module=ietf-netconf-notifications&revision=2012-02-06" in advertised


def test_an_edit_that_leaves_running_as_it_was_sends_no_config_change(netconf_daemon):
    remove = (
        f'<edit-config><target><running/></target><config><apps xmlns="{KA}" '
        f'xmlns:nc="{NC}"><app nc:operation="remove"><name>ghost</name></app></apps>'
        "</config></edit-config>"
    )
    with connecting.hello(netconf_daemon) as client:
        assert is_ok(client.rpc(subscribe()))
        assert is_ok(client.rpc(remove))
        _, notification = exchange(client, import_missing())

        # The import's notification is the first: the edit sent none.
        assert content_of(notification).tag == f"{{{KA}}}image-import"


def test_a_start_time_replays_the_logged_events_then_replay_complete(netconf_daemon):
    name = "example.com/replayed:1.0"
    with connecting.hello(netconf_daemon) as earlier:
        earlier.rpc(import_missing(name))

    with connecting.hello(netconf_daemon) as client:
        assert is_ok(client.rpc(subscribe(f"<startTime>{HOUR_AGO}</startTime>")))
        replayed = read_until(client, f"{{{NETMOD}}}replayComplete")

        # Live events follow the replay.
        live = content_of(exchange(client, import_missing("example.com/live:1.0"))[1])

    names = [c.findtext(f"{{{KA}}}name") for c in replayed]
    assert name in names
    assert live.findtext(f"{{{KA}}}name") == "example.com/live:1.0"


def test_a_stop_time_in_the_past_replays_then_completes_the_subscription(netconf_daemon):
    name = "example.com/bounded:1.0"
    with connecting.hello(netconf_daemon) as client:
        client.rpc(import_missing(name))
        stop = datetime.now(UTC).isoformat()
        window = f"<startTime>{HOUR_AGO}</startTime><stopTime>{stop}</stopTime>"
        assert is_ok(client.rpc(subscribe(window)))

        replayed = read_until(client, f"{{{NETMOD}}}replayComplete")
        assert content_of(client.read_reply()).tag == f"{{{NETMOD}}}notificationComplete"
        assert name in [c.findtext(f"{{{KA}}}name") for c in replayed]

        # The subscription is over, so the session may make another.
        assert is_ok(client.rpc(subscribe()))


def test_a_stop_time_in_the_future_ends_the_live_subscription_then(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        stop = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
        window = (
            f"<startTime>{datetime.now(UTC).isoformat()}</startTime><stopTime>{stop}</stopTime>"
        )
        assert is_ok(client.rpc(subscribe(window)))
        assert content_of(client.read_reply()).tag == f"{{{NETMOD}}}replayComplete"

        _, notification = exchange(client, import_missing("example.com/before-stop:1.0"))
        assert content_of(notification).tag == f"{{{KA}}}image-import"
        assert content_of(client.read_reply()).tag == f"{{{NETMOD}}}notificationComplete"
        assert is_ok(client.rpc(subscribe()))


def read_until(client, tag: str, limit: int = 2000) -> list[etree._Element]:
    """The contents of the notifications before the first ``tag``, which must come."""
    contents = []
    for _ in range(limit):
        content = content_of(client.read_reply())
        if content.tag == tag:
            return contents
        contents.append(content)
    raise AssertionError(f"no {tag} among {limit} notifications")


def test_get_lists_the_netconf_stream_with_its_replay_support(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as m:
        selector = f'<netconf xmlns="{NETMOD}"><streams/></netconf>'
        data = m.get(filter=("subtree", selector)).data_ele
        advertised = list(m.server_capabilities)

    (stream,) = data.iterfind(f"{{{NETMOD}}}netconf/{{{NETMOD}}}streams/{{{NETMOD}}}stream")
    assert stream.findtext(f"{{{NETMOD}}}name") == "NETCONF"
    assert stream.findtext(f"{{{NETMOD}}}replaySupport") == "true"
    created = datetime.fromisoformat(stream.findtext(f"{{{NETMOD}}}replayLogCreationTime"))
    assert created <= datetime.now(UTC)
    assert f"{NETMOD}?module=nc-notifications&revision=2008-07-14" in advertised
    assert f"{NF}?module=notifications&revision=2008-07-14" in advertised


def test_a_new_subscription_after_one_completed_gets_its_reply_before_its_replay(netconf_daemon):
    name = "example.com/again:1.0"
    with connecting.hello(netconf_daemon) as client:
        client.rpc(import_missing(name))
        window = (
            f"<startTime>{HOUR_AGO}</startTime><stopTime>{datetime.now(UTC).isoformat()}</stopTime>"
        )
        assert is_ok(client.rpc(subscribe(window)))
        read_until(client, f"{{{NETMOD}}}notificationComplete")

        # The session's writer of notifications runs now; the next reply must still come first.
        assert is_ok(client.rpc(subscribe(f"<startTime>{HOUR_AGO}</startTime>")))
        replayed = read_until(client, f"{{{NETMOD}}}replayComplete")
        assert name in [c.findtext(f"{{{KA}}}name") for c in replayed]
