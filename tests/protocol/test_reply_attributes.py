"""Every attribute of <rpc> comes back on <rpc-reply> (RFC 6241 4.2), whatever the reply.

test_messages.py checks a reply with data; clients such as ncclient and Ansible match every
reply by its message-id, so the replies of errors and of ``<ok/>`` must carry them too.
"""

from __future__ import annotations

import pytest

from protocol import connecting
from protocol.xmlcheck import is_ok, the_error

pytestmark = pytest.mark.protocol

ATTRIBUTES = 'xmlns:ex="urn:example:trace" ex:trace-id="t-77" note="ü"'
ECHOED = {"message-id": "m-1", "{urn:example:trace}trace-id": "t-77", "note": "ü"}


def test_attributes_come_back_on_an_ok_reply(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        locked = client.rpc(
            "<lock><target><startup/></target></lock>", message_id="m-1", attributes=ATTRIBUTES
        )
        client.rpc("<unlock><target><startup/></target></unlock>")

    assert is_ok(locked)
    assert dict(locked.attrib) == ECHOED


@pytest.mark.parametrize(
    ("body", "tag"),
    [
        ("<nope/>", "operation-not-supported"),
        ("<get-config><source><nowhere/></source></get-config>", "invalid-value"),
        ("<kill-session/>", "missing-element"),
    ],
)
def test_attributes_come_back_on_an_error_reply(netconf_daemon, body, tag):
    with connecting.hello(netconf_daemon) as client:
        reply = client.rpc(body, message_id="m-1", attributes=ATTRIBUTES)

    assert the_error(reply)["tag"] == tag
    assert dict(reply.attrib) == ECHOED


def test_attributes_come_back_in_end_of_message_framing_too(netconf_daemon):
    with connecting.raw(netconf_daemon) as client:
        client.hello(capabilities=["urn:ietf:params:netconf:base:1.0"])
        reply = client.rpc("<nope/>", message_id="m-1", attributes=ATTRIBUTES)

    assert dict(reply.attrib) == ECHOED
