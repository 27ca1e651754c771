"""An edit is validated by what it touches, and still fails wherever a whole validation fails."""

import re
from pathlib import Path

import pytest
from lxml import etree

from k3s_netconf import errors, schema
from k3s_netconf.datastore import checking, scoping
from k3s_netconf.datastore.store import Datastore, validated

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = schema.APPS_NS
BUSYBOX = "docker.io/library/busybox:1.36"
OTHER = "docker.io/library/alpine:3"
MODEL = next((Path(__file__).resolve().parents[2] / "yang").glob("k3s-netconf-apps@*.yang"))


def images(*names: str) -> str:
    entries = "".join(f"<image><name>{n}</name><archive>x.tar</archive></image>" for n in names)
    return f'<images xmlns="{KA}">{entries}</images>'


def app(name: str, image: str = BUSYBOX, port: int = 8080, attrs: str = "") -> str:
    return (
        f"<app {attrs}><name>{name}</name><image>{image}</image>"
        f"<port><name>http</name><container-port>{port}</container-port></port></app>"
    )


def apps(*entries: str) -> str:
    return f'<apps xmlns="{KA}">{"".join(entries)}</apps>'


def rule(app_name: str, port: str = "http") -> str:
    return (
        f'<port-forwarding xmlns="{KA}"><rule><protocol>tcp</protocol>'
        f"<external-port>8080</external-port><app>{app_name}</app><port>{port}</port></rule>"
        "</port-forwarding>"
    )


def config(body: str) -> etree._Element:
    return etree.fromstring(f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>')


@pytest.fixture
def running(tmp_path):
    store = Datastore(schema.load(), tmp_path / "running.xml")
    body = images(BUSYBOX, OTHER) + apps(*(app(f"app{i}", port=9000 + i) for i in range(5)))
    store.replace(store.edited(config(body + rule("app0")), "merge"))
    return store


def test_an_edit_of_one_app_checks_only_that_app_and_what_refers_beyond_it(running):
    new = running.edited(config(apps(app("app3", image=OTHER))), "merge")

    part = scoping.part_to_validate(new.tree, scoping.untouched_apps(running.tree, new.tree))

    # app0 stays for the rule's leafrefs; the three others are the same entries as before.
    assert scoping.app_names(checking.tree_of(part)) == ["app0", "app3"]


def test_the_configuration_of_a_partly_checked_edit_equals_that_of_a_whole_check(running):
    new = running.edited(config(apps(app("app3", image=OTHER), app("fresh", port=7000))), "merge")

    whole = validated(running.schema, new.tree)

    assert new.config == whole.config
    assert list(new.config.apps) == list(whole.config.apps)


def test_an_edit_of_one_app_still_rejects_a_leafref_to_a_missing_image(running):
    with pytest.raises(errors.DataMissing) as e:
        running.edited(config(apps(app("app2", image="docker.io/library/nope:1"))), "merge")

    assert e.value.app_tag == "instance-required"
    assert e.value.path == "/ka:apps/ka:app[ka:name='app2']/ka:image"


def test_deleting_an_image_an_untouched_app_references_is_refused(running):
    edit = (
        f'<images xmlns="{KA}"><image nc:operation="delete"><name>{BUSYBOX}</name></image></images>'
    )

    with pytest.raises(errors.DataMissing) as e:
        running.edited(config(edit), "merge")

    assert e.value.app_tag == "instance-required"
    assert e.value.path == "/ka:apps/ka:app[ka:name='app0']/ka:image"


def test_a_port_duplicating_an_untouched_port_of_the_same_app_breaks_the_unique_rule(running):
    # app1's port 9001 is left as it is; the edit adds a second port with the same number.
    extra = "<port><name>again</name><container-port>9001</container-port></port>"
    edit = apps(f"<app><name>app1</name>{extra}</app>")

    with pytest.raises(errors.OperationFailed) as e:
        running.edited(config(edit), "merge")

    assert e.value.app_tag == "data-not-unique"


def test_deleting_an_app_an_untouched_rule_forwards_to_is_refused(running):
    edit = apps('<app nc:operation="delete"><name>app0</name></app>')

    with pytest.raises(errors.DataMissing) as e:
        running.edited(config(edit), "merge")

    assert e.value.app_tag == "instance-required"
    assert "rule" in e.value.path


def test_renaming_the_port_an_untouched_rule_forwards_to_is_refused(running):
    edit = apps(
        "<app><name>app0</name>"
        '<port nc:operation="delete"><name>http</name></port>'
        "<port><name>web</name><container-port>9000</container-port></port></app>"
    )

    with pytest.raises(errors.DataMissing) as e:
        running.edited(config(edit), "merge")

    assert e.value.app_tag == "instance-required"


def test_a_refused_edit_leaves_the_datastore_as_it_was(running):
    before = etree.tostring(running.tree)

    with pytest.raises(errors.DataMissing):
        running.edited(config(apps(app("app2", image="docker.io/library/nope:1"))), "merge")

    assert etree.tostring(running.tree) == before


def test_the_model_reaches_beyond_an_app_entry_only_where_the_scope_knows():
    text = MODEL.read_text()

    # If the model gains a leafref, must or unique across entries, scoping must learn it.
    assert set(re.findall(r'path "([^"]+)"', text)) == {
        "/ka:images/ka:image/ka:name",
        "/ka:apps/ka:app/ka:name",
        "/ka:apps/ka:app[ka:name = current()/../app]/ka:port/ka:name",
    }
    assert set(re.findall(r"must '([^']+)'", text)) == {
        "not(../cpu-request) or . >= ../cpu-request",
        "not(../memory-request) or . >= ../memory-request",
    }
    assert set(re.findall(r'unique "([^"]+)"', text)) == {"container-port protocol", "mount-path"}
    # The one element count lies inside a probe of an app; no `when` anywhere.
    assert re.findall(r"\b(?:min|max)-elements\s+\d+;", text) == ["min-elements 1;"]
    assert not re.search(r"^\s*when\s", text, re.MULTILINE)
