"""edit-config on a datastore tree follows RFC 6241 section 7.2 and the model."""

import pytest
from lxml import etree

from k3s_netconf import errors, schema
from k3s_netconf.datastore import converting, editing, validating
from k3s_netconf.datastore.store import empty_tree

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = schema.APPS_NS
BUSYBOX = "docker.io/library/busybox:1.36"
IMAGE = (
    f'<images xmlns="{KA}"><image><name>{BUSYBOX}</name><archive>bb.tar</archive></image></images>'
)


def app_xml(name: str, extra: str = "", attrs: str = "") -> str:
    return (
        f'<apps xmlns="{KA}"><app {attrs}><name>{name}</name><image>{BUSYBOX}</image>'
        f"{extra}</app></apps>"
    )


class Store:
    def __init__(self):
        self.schema = schema.load()
        self.tree = empty_tree()

    def edit(self, body: str, default: str = "merge"):
        config = etree.fromstring(f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>')
        tree = etree.fromstring(etree.tostring(self.tree))
        editing.apply(self.schema, tree, config, default)
        self.tree = tree
        return converting.config(validating.config_values(self.schema, tree))


@pytest.fixture
def store():
    s = Store()
    s.edit(IMAGE + app_xml("web", "<env><name>A</name><value>1</value></env>"))
    return s


def test_merge_adds_an_app_with_the_model_defaults_filled_in(store):
    config = store.edit(app_xml("api"))
    assert config.apps["api"].replicas == 1
    assert config.apps["api"].enabled is True


def test_create_of_an_existing_entry_is_data_exists(store):
    with pytest.raises(errors.DataExists) as e:
        store.edit(app_xml("web", attrs='nc:operation="create"'))
    assert e.value.path == "/ka:apps/ka:app[ka:name='web']"


def test_delete_of_a_missing_entry_is_data_missing(store):
    with pytest.raises(errors.DataMissing):
        store.edit(f'<apps xmlns="{KA}"><app nc:operation="delete"><name>nope</name></app></apps>')


def test_remove_of_a_missing_entry_is_accepted_and_creates_nothing(store):
    config = store.edit(
        f'<apps xmlns="{KA}"><app nc:operation="remove"><name>nope</name></app></apps>'
    )
    assert set(config.apps) == {"web"}


def test_default_operation_none_touching_a_missing_entry_is_data_missing(store):
    with pytest.raises(errors.DataMissing):
        store.edit(
            f'<apps xmlns="{KA}"><app><name>nope</name><replicas>2</replicas></app></apps>', "none"
        )


def test_an_operation_attribute_without_the_netconf_namespace_is_refused(store):
    with pytest.raises(errors.UnknownAttribute) as e:
        store.edit(f'<apps xmlns="{KA}"><app operation="delete"><name>web</name></app></apps>')
    assert e.value.info == {"bad-attribute": "operation", "bad-element": "app"}
    assert "web" in converting.config(validating.config_values(store.schema, store.tree)).apps


def test_an_unknown_namespace_is_unknown_namespace(store):
    with pytest.raises(errors.UnknownNamespace) as e:
        store.edit('<apps xmlns="urn:example:other"><app><name>x</name></app></apps>')
    assert e.value.info["bad-namespace"] == "urn:example:other"


def test_replace_drops_children_the_edit_does_not_name(store):
    config = store.edit(app_xml("web", "<replicas>2</replicas>", 'nc:operation="replace"'))
    assert config.apps["web"].env == ()
    assert config.apps["web"].replicas == 2


def test_merge_keeps_children_the_edit_does_not_name(store):
    config = store.edit(
        f'<apps xmlns="{KA}"><app><name>web</name><replicas>3</replicas></app></apps>'
    )
    assert config.apps["web"].env == (("A", "1"),)


def test_a_port_beyond_65535_is_an_invalid_value_at_its_path(store):
    with pytest.raises(errors.InvalidValue) as e:
        store.edit(
            app_xml("web", "<port><name>http</name><container-port>70000</container-port></port>")
        )
    assert e.value.path.endswith("ka:port[ka:name='http']/ka:container-port")


def test_an_app_name_that_is_not_a_dns_label_is_an_invalid_value(store):
    with pytest.raises(errors.InvalidValue):
        store.edit(app_xml("Web_1"))


def test_an_app_without_its_mandatory_image_is_data_missing(store):
    with pytest.raises(errors.DataMissing):
        store.edit(f'<apps xmlns="{KA}"><app><name>bare</name></app></apps>')


def test_deleting_an_image_that_an_app_uses_is_refused_by_the_leafref(store):
    with pytest.raises(errors.DataMissing) as e:
        store.edit(
            f'<images xmlns="{KA}"><image nc:operation="delete"><name>{BUSYBOX}</name></image></images>'
        )
    assert e.value.app_tag == "instance-required"


def test_a_forwarding_rule_to_a_port_the_app_lacks_is_refused(store):
    rule = "<rule><protocol>tcp</protocol><external-port>8080</external-port><app>web</app><port>http</port></rule>"
    with pytest.raises(errors.DataMissing):
        store.edit(f'<port-forwarding xmlns="{KA}">{rule}</port-forwarding>')


def test_a_limit_below_its_request_breaks_the_must_rule(store):
    with pytest.raises(errors.OperationFailed) as e:
        store.edit(
            app_xml(
                "web",
                "<resources><cpu-request>200</cpu-request><cpu-limit>100</cpu-limit></resources>",
            )
        )
    assert e.value.app_tag == "must-violation"


def test_choosing_another_probe_kind_replaces_the_previous_one(store):
    store.edit(app_xml("web", "<liveness-probe><tcp-port>80</tcp-port></liveness-probe>"))
    config = store.edit(
        app_xml("web", "<liveness-probe><exec-command>true</exec-command></liveness-probe>")
    )
    probe = config.apps["web"].liveness_probe
    assert probe.tcp_port is None and probe.exec_command == ("true",)


def test_state_nodes_cannot_be_configured(store):
    with pytest.raises(errors.InvalidValue):
        store.edit(app_xml("web", "<state><ready-replicas>1</ready-replicas></state>"))


def test_an_element_outside_the_model_is_unknown_element(store):
    with pytest.raises(errors.UnknownElement) as e:
        store.edit(app_xml("web", "<bogus>1</bogus>"))
    assert e.value.info == {"bad-element": "bogus"}


def test_two_volumes_on_one_mount_path_break_the_unique_rule(store):
    volumes = "".join(
        f"<volume><name>v{i}</name><host-path>/cfg/v{i}</host-path><mount-path>/data</mount-path>"
        "</volume>"
        for i in (1, 2)
    )
    with pytest.raises(errors.OperationFailed) as e:
        store.edit(app_xml("web", volumes))
    assert e.value.app_tag == "data-not-unique"


def test_a_value_is_checked_against_its_type_as_the_edit_is_applied():
    s = schema.load()
    tree = empty_tree()
    config = etree.fromstring(
        f'<config xmlns="{NC}"><apps xmlns="{KA}"><app><name>web</name>'
        "<replicas>lots</replicas></app></apps></config>"
    )
    with pytest.raises(errors.InvalidValue) as e:
        editing.apply(s, tree, config, "merge")
    assert e.value.path == "/ka:apps/ka:app[ka:name='web']/ka:replicas"


def test_containers_the_edit_empties_go_and_presence_containers_stay(store):
    store.edit(
        app_xml(
            "web",
            "<resources><cpu-limit>100</cpu-limit></resources>"
            "<liveness-probe><tcp-port>80</tcp-port></liveness-probe>",
        )
    )
    edit = etree.fromstring(
        f'<config xmlns="{NC}" xmlns:nc="{NC}">'
        + app_xml(
            "web",
            '<resources><cpu-limit nc:operation="delete"/></resources>'
            '<liveness-probe><tcp-port nc:operation="delete"/></liveness-probe>',
        )
        + "</config>"
    )
    editing.apply(store.schema, store.tree, edit, "merge")
    app = store.tree.find(f"{{{KA}}}apps/{{{KA}}}app")
    assert app.find(f"{{{KA}}}resources") is None
    assert app.find(f"{{{KA}}}liveness-probe") is not None  # a presence container, now empty


def test_deleting_the_last_app_drops_the_apps_container(store):
    edit = etree.fromstring(
        f'<config xmlns="{NC}" xmlns:nc="{NC}"><apps xmlns="{KA}">'
        '<app nc:operation="delete"><name>web</name></app></apps></config>'
    )
    editing.apply(store.schema, store.tree, edit, "merge")
    assert store.tree.find(f"{{{KA}}}apps") is None
    assert store.tree.find(f"{{{KA}}}images") is not None


def test_the_edit_reports_the_entries_it_went_into_and_no_other(store):
    store.edit(app_xml("api"))
    edit = etree.fromstring(
        f'<config xmlns="{NC}" xmlns:nc="{NC}">'
        + app_xml("web", "<replicas>2</replicas>")
        + app_xml("new")
        + f'<apps xmlns="{KA}"><app nc:operation="delete"><name>api</name></app></apps>'
        + "</config>"
    )
    edited = editing.apply(store.schema, store.tree, edit, "merge")
    names = {e.findtext(f"{{{KA}}}name") for e in edited.entries if e.tag == f"{{{KA}}}app"}
    assert names == {"web", "new"}
