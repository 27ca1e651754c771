"""Rule matching of RFC 8341 access control, on rules read from settings like the daemon's."""

from __future__ import annotations

import pytest
from lxml import etree

from k3s_netconf import access, errors, settings

KA = "urn:k3s-netconf:yang:apps"
MODULES = {KA: "k3s-netconf-apps"}

READ_ONLY = {
    "groups": [{"name": "viewers", "users": ["olga"]}, {"name": "admins", "users": ["ada"]}],
    "rule_lists": [
        {
            "name": "viewers",
            "groups": ["viewers"],
            "rules": [
                {"name": "get", "rpc_name": "get", "action": "permit"},
                {"name": "get-config", "rpc_name": "get-config", "action": "permit"},
                {"name": "nothing-else", "access_operations": ["exec"], "action": "deny"},
            ],
        },
        {
            "name": "admins",
            "groups": ["admins"],
            "rules": [{"name": "all", "action": "permit"}],
        },
        {
            "name": "everyone",
            "groups": ["*"],
            "rules": [
                {
                    "name": "no-secret-app",
                    "module_name": "k3s-netconf-apps",
                    "path": "/k3s-netconf-apps:apps/app[name='secret']",
                    "access_operations": ["read"],
                    "action": "deny",
                }
            ],
        },
    ],
}


def decisions(nacm: dict | None = None) -> access.Access:
    loaded = settings.from_mapping({"nacm": nacm if nacm is not None else READ_ONLY}).nacm
    return access.Access(loaded, lambda namespace: MODULES.get(namespace, namespace))


def tree(*apps: str) -> etree._Element:
    entries = "".join(
        f"<app><name>{name}</name><image>{image}</image></app>"
        for name, image in (a.split("=") for a in apps)
    )
    return etree.fromstring(f'<data><apps xmlns="{KA}">{entries}</apps></data>')


def test_a_read_only_group_may_run_get_and_get_config_but_no_other_rpc():
    nacm = decisions()

    assert nacm.may_run("olga", "ietf-netconf", "get")
    assert nacm.may_run("olga", "ietf-netconf", "get-config")
    assert not nacm.may_run("olga", "ietf-netconf", "edit-config")
    assert not nacm.may_run("olga", "k3s-netconf-apps", "import-image")


def test_close_session_is_permitted_even_when_a_rule_denies_every_rpc():
    assert decisions().may_run("olga", "ietf-netconf", "close-session")


def test_kill_session_and_delete_config_are_denied_without_a_rule_that_permits_them():
    nacm = decisions()

    assert not nacm.may_run("nobody", "ietf-netconf", "kill-session")
    assert not nacm.may_run("nobody", "ietf-netconf", "delete-config")
    assert nacm.may_run("ada", "ietf-netconf", "delete-config")


def test_a_user_in_no_group_gets_the_defaults_exec_and_read_permitted_write_denied():
    nacm = decisions()
    unit = access.Unit("k3s-netconf-apps", (("k3s-netconf-apps", "apps", ()),))

    assert nacm.may_run("nobody", "ietf-netconf", "edit-config")
    assert nacm.may_access("nobody", "read", unit)
    assert not nacm.may_access("nobody", "create", unit)


def test_the_first_matching_rule_decides_across_rule_lists_in_order():
    # ada's permit-all comes before the deny of everyone's rule-list.
    nacm = decisions()
    secret = tree("secret=busybox")

    assert len(nacm.readable("ada", secret)[0]) == 1
    assert len(nacm.readable("olga", tree("secret=busybox"))[0]) == 0


def test_reading_leaves_out_only_the_list_entries_a_path_rule_denies():
    data = decisions().readable("nobody", tree("secret=a", "web=b"))

    assert [e.text for e in data.iter(f"{{{KA}}}name")] == ["web"]


def test_changes_name_each_created_updated_and_deleted_list_entry():
    found = {
        (operation, str(unit))
        for operation, unit in access.changes(tree("a=1", "b=1"), tree("b=2", "c=1"), MODULES.get)
    }

    assert found == {
        ("delete", "/k3s-netconf-apps:apps/app[name='a']"),
        ("update", "/k3s-netconf-apps:apps/app[name='b']"),
        ("create", "/k3s-netconf-apps:apps/app[name='c']"),
    }


def test_a_change_the_defaults_deny_raises_access_denied_naming_the_entry():
    with pytest.raises(errors.AccessDenied) as raised:
        decisions().check_change("nobody", tree(), tree("web=busybox"))

    assert raised.value.tag == "access-denied"
    assert raised.value.error_type == "application"
    assert raised.value.path == "/k3s-netconf-apps:apps/app[name='web']"


def test_an_admin_may_change_anything():
    decisions().check_change("ada", tree("a=1"), tree("b=1"))


def test_a_path_rule_on_a_list_matches_every_entry_and_an_action_below_it():
    nacm = decisions(
        {
            "exec_default": "permit",
            "rule_lists": [
                {
                    "name": "no-actions",
                    "groups": ["*"],
                    "rules": [
                        {
                            "name": "apps",
                            "path": "/k3s-netconf-apps:apps/app",
                            "access_operations": ["exec"],
                            "action": "deny",
                        }
                    ],
                }
            ],
        }
    )

    restart = access.action_unit("k3s-netconf-apps", ("apps", "app"), "web", "restart")
    assert not nacm.may_access("anyone", "exec", restart)
    assert nacm.may_run("anyone", "k3s-netconf-apps", "import-image")


def test_without_a_nacm_section_everything_is_permitted():
    nacm = access.Access(settings.from_mapping({}).nacm, MODULES.get)

    assert nacm.may_run("anyone", "ietf-netconf", "delete-config")
    nacm.check_change("anyone", tree(), tree("web=busybox"))


@pytest.mark.parametrize(
    "rule",
    [
        {"name": "r", "action": "allow"},
        {"name": "r", "action": "deny", "access_operations": ["write"]},
        {"name": "r", "action": "deny", "rpc_name": "get", "path": "/x:y"},
    ],
)
def test_a_malformed_rule_is_a_settings_error(rule):
    with pytest.raises(settings.SettingsError):
        settings.from_mapping(
            {"nacm": {"rule_lists": [{"name": "l", "groups": ["*"], "rules": [rule]}]}}
        )


def test_a_rule_path_that_cannot_be_read_is_a_settings_error():
    rule = {"name": "r", "action": "deny", "path": "/k3s-netconf-apps:apps/a:b:c"}

    with pytest.raises(settings.SettingsError, match="path"):
        decisions({"rule_lists": [{"name": "l", "groups": ["*"], "rules": [rule]}]})
