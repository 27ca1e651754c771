"""Access control end to end: a viewer's denied changes leave the cluster as it was.

The daemon's own user ``admin`` is in the group admins, permitted everything; ``olga`` is in
the group viewers, permitted get and get-config only.
"""

from __future__ import annotations

import dataclasses

import pytest
from e2e_support import KA, NC, Device, app_xml, connect, image_xml, rpc
from ncclient.operations import RPCError
from protocol.nacm_rules import ADMINS_AND_VIEWERS
from protocol.xmlcheck import same_xml

pytestmark = pytest.mark.cluster

RULES = "[nacm]\n" + ADMINS_AND_VIEWERS

# For everyone but the admins, who are permitted everything by an earlier rule-list.
HIDDEN = """
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

RESTART = (
    '<action xmlns="urn:ietf:params:xml:ns:yang:1"><apps xmlns="urn:k3s-netconf:yang:apps">'
    "<app><name>web</name><restart/></app></apps></action>"
)


@pytest.fixture
def guarded(device: Device, password_hash: str) -> Device:
    device.extra = f'\n[[users]]\nname = "olga"\npassword_hash = "{password_hash}"\n' + RULES
    device.restart()
    return device


@pytest.fixture
def hiding(guarded: Device) -> Device:
    guarded.extra += HIDDEN
    guarded.restart()
    return guarded


def test_an_admin_deploys_and_restarts_while_a_viewer_is_denied_and_changes_nothing(
    guarded: Device,
):
    guarded.edit(image_xml() + app_xml("web", ""))
    assert guarded.deployments() == {"web"}
    configured = guarded.get_config()

    with connect(dataclasses.replace(guarded.daemon, user="olga")) as viewer:
        with pytest.raises(RPCError) as edit:
            viewer.edit_config(
                target="running",
                config=f'<config xmlns="{NC}">{app_xml("other", "")}</config>',
            )
        with pytest.raises(RPCError) as restart:
            rpc(viewer, RESTART)
        assert viewer.get_config("running").data_ele is not None

    assert (edit.value.tag, restart.value.tag) == ("access-denied", "access-denied")
    assert guarded.deployments() == {"web"}
    assert same_xml(guarded.get_config(), configured)
    assert rpc(guarded.manager, RESTART).find(f"{{{NC}}}ok") is not None


def test_an_app_hidden_from_a_viewer_is_left_out_of_her_gets_only(hiding: Device):
    # Every get reads the one joined tree the daemon keeps: leaving an app out of one user's
    # reply must not take it out of the next user's.
    stopped = "<enabled>false</enabled>"
    hiding.edit(image_xml() + app_xml("web", stopped))
    hiding.edit(app_xml("secret", stopped))
    apps = ("subtree", f'<apps xmlns="{KA}"/>')

    with connect(dataclasses.replace(hiding.daemon, user="olga")) as viewer:
        for _ in range(2):
            assert _app_names(viewer.get(filter=apps)) == ["web"]
            assert _app_names(viewer.get()) == ["web"]
            assert _app_names(hiding.manager.get(filter=apps)) == ["web", "secret"]
            assert _app_names(hiding.manager.get()) == ["web", "secret"]


def _app_names(reply) -> list[str]:
    return [name.text for name in reply.data_ele.iterfind(f"{{{KA}}}apps/{{{KA}}}app/{{{KA}}}name")]
