"""Access control (RFC 8341) over SSH with ncclient: a read-only group, admins, the defaults.

A daemon of each test's own, with three users: ``admin`` in the group admins (permitted
everything), ``olga`` in the group viewers (get and get-config only), ``nobody`` in no group
(the RFC 8341 3.2.1 defaults: read and exec permitted, writes denied). The daemon has no cluster; the denied
requests never reach it, and the permitted ones used here need none.
"""

from __future__ import annotations

import dataclasses

import pytest
from lxml import etree
from ncclient.operations import RPCError

from protocol import connecting
from protocol.nacm_rules import ADMINS_AND_VIEWERS
from protocol.xmlcheck import same_xml

pytestmark = pytest.mark.protocol

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
YANG = "urn:ietf:params:xml:ns:yang:1"
IMAGE = "docker.io/library/busybox:1.36"

RULES = (
    '[nacm]\nwrite_default = "deny"\n'
    + ADMINS_AND_VIEWERS
    + """
[[nacm.rule_lists]]
name = "everyone"
groups = ["*"]

[[nacm.rule_lists.rules]]
name = "no-secret"
module_name = "k3s-netconf-apps"
path = "/k3s-netconf-apps:apps/app[name='secret']"
access_operations = ["read"]
action = "deny"
"""
)


def config(body: str) -> str:
    return f'<config xmlns="{NC}">{body}</config>'


IMAGES = (
    f'<images xmlns="{KA}"><image><name>{IMAGE}</name>'
    "<archive>busybox.tar</archive></image></images>"
)


def app_xml(name: str) -> str:
    return f'<apps xmlns="{KA}"><app><name>{name}</name><image>{IMAGE}</image></app></apps>'


def action(name: str) -> etree._Element:
    return etree.fromstring(
        f'<action xmlns="{YANG}"><apps xmlns="{KA}"><app><name>web</name>'
        f"<{name}/></app></apps></action>"
    )


def import_image() -> etree._Element:
    return etree.fromstring(
        f'<import-image xmlns="{KA}"><name>{IMAGE}</name><archive>b.tar</archive></import-image>'
    )


def app_names(session, source: str) -> list[str]:
    data = session.get_config(source).data_ele
    return [e.text for e in data.iter(f"{{{KA}}}name") if e.getparent().tag == f"{{{KA}}}app"]


@pytest.fixture
def daemon(start_daemon, password_hash):
    users = "".join(
        f'\n[[users]]\nname = "{name}"\npassword_hash = "{password_hash}"\n'
        for name in ("olga", "nobody")
    )
    return start_daemon(extra=users + RULES)


@pytest.fixture
def admin(daemon):
    with connecting.ncclient(daemon) as s:
        # The admin fills the candidate with two apps, one of them hidden from other users.
        s.edit_config(
            target="candidate", config=config(IMAGES + app_xml("web") + app_xml("secret"))
        )
        yield s
        s.discard_changes()


def login(daemon, user: str):
    return connecting.ncclient(dataclasses.replace(daemon, user=user))


def denied(call, *args, **kwargs) -> RPCError:
    with pytest.raises(RPCError) as e:
        call(*args, **kwargs)
    assert e.value.tag == "access-denied"
    assert e.value.message
    return e.value


def test_a_read_only_user_can_get_and_get_config(daemon, admin):
    with login(daemon, "olga") as s:
        assert s.get().data_ele is not None
        assert app_names(s, "candidate") == ["web"]


@pytest.mark.parametrize(
    "request_",
    [
        lambda s: s.edit_config(target="candidate", config=config(app_xml("other"))),
        lambda s: s.commit(),
        lambda s: s.copy_config(source="candidate", target="startup"),
        lambda s: s.discard_changes(),
        lambda s: s.lock("candidate"),
        lambda s: s.dispatch(action("restart")),
        lambda s: s.dispatch(action("logs")),
        lambda s: s.dispatch(import_image()),
    ],
    ids=["edit-config", "commit", "copy-config", "discard", "lock", "restart", "logs", "import"],
)
def test_a_read_only_user_is_denied_every_change_and_the_datastores_stay_as_they_were(
    daemon, admin, request_
):
    before = {name: admin.get_config(name).data_ele for name in ("candidate", "startup")}

    with login(daemon, "olga") as s:
        denied(request_, s)
        # The session stays usable after a denial.
        assert s.get_config("running").ok

    for name, tree in before.items():
        assert same_xml(admin.get_config(name).data_ele, tree)


def test_a_denied_rpc_is_a_protocol_error(daemon, admin):
    with login(daemon, "olga") as s:
        assert denied(s.commit).type == "protocol"


def test_an_admin_can_change_the_candidate_and_startup_and_read_everything(daemon, admin):
    assert app_names(admin, "candidate") == ["web", "secret"]
    assert admin.copy_config(source="candidate", target="startup").ok
    assert app_names(admin, "startup") == ["web", "secret"]
    assert admin.delete_config("startup").ok
    assert admin.lock("candidate").ok
    assert admin.unlock("candidate").ok


def test_a_user_in_no_group_may_read_and_lock_but_not_write(daemon, admin):
    with login(daemon, "nobody") as s:
        assert app_names(s, "candidate") == ["web"]
        assert s.lock("running").ok
        assert s.unlock("running").ok

        error = denied(s.edit_config, target="candidate", config=config(app_xml("mine")))
        assert error.type == "application"
        assert error.path == "/k3s-netconf-apps:apps/app[name='mine']"

    assert app_names(admin, "candidate") == ["web", "secret"]


def test_a_user_in_no_group_is_denied_kill_session_and_delete_config(daemon, admin):
    with login(daemon, "nobody") as s:
        denied(s.kill_session, "1")
        denied(s.delete_config, "startup")
