"""The with-defaults modes of RFC 6243 on trees of the model, with its YANG defaults."""

import copy

import pytest
from lxml import etree

from k3s_netconf import errors
from k3s_netconf.datastore import defaults, editing
from k3s_netconf.schema import load

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
WD = "urn:ietf:params:xml:ns:netconf:default:1.0"
# replicas is set to its default; the probe's check is the http case.
TREE = etree.fromstring(
    f'<data xmlns="{NC}"><apps xmlns="{KA}"><app><name>web</name><image>i:1</image>'
    "<replicas>1</replicas><port><name>http</name><container-port>80</container-port></port>"
    "<liveness-probe><http-get><port>80</port></http-get></liveness-probe></app></apps></data>"
)


def reported(mode: str, config_only: bool = True) -> etree._Element:
    return defaults.reported(load(), copy.deepcopy(TREE), mode, config_only)


def app(tree: etree._Element) -> etree._Element:
    return tree.find(f"{{{KA}}}apps/{{{KA}}}app")


def leaf(tree: etree._Element, path: str) -> etree._Element | None:
    return app(tree).find("/".join(f"{{{KA}}}{step}" for step in path.split("/")))


def test_explicit_reports_what_was_set_including_a_value_equal_to_its_default():
    tree = reported("explicit")
    assert etree.tostring(tree) == etree.tostring(TREE)
    assert leaf(tree, "replicas").text == "1"


def test_report_all_fills_in_the_defaults_of_the_model():
    tree = reported("report-all")
    assert leaf(tree, "enabled").text == "true"
    assert leaf(tree, "termination-grace-period").text == "30"
    assert leaf(tree, "port/protocol").text == "tcp"
    assert leaf(tree, "liveness-probe/period").text == "10"
    assert leaf(tree, "liveness-probe/http-get/path").text == "/"


def test_report_all_makes_no_presence_container_and_no_case_that_was_not_chosen():
    tree = reported("report-all")
    assert leaf(tree, "readiness-probe") is None
    assert leaf(tree, "liveness-probe/tcp-port") is None


def test_every_filled_in_default_is_one_the_yang_schema_gives():
    node = load().root.child(KA, "apps").child(KA, "app")
    tree = reported("report-all")
    for name in ("enabled", "termination-grace-period"):
        assert leaf(tree, name).text == defaults.default_of(node.child(KA, name))


def test_report_all_tagged_tags_every_leaf_holding_its_default_and_no_other():
    tree = reported("report-all-tagged")
    tagged = {etree.QName(e).localname for e in tree.iter() if e.get(f"{{{WD}}}default") == "true"}
    assert tagged == {
        "replicas", "enabled", "termination-grace-period", "protocol", "path",
        "initial-delay", "period", "timeout", "failure-threshold",
    }  # fmt: skip
    assert leaf(tree, "name").get(f"{{{WD}}}default") is None


def test_trim_leaves_out_values_equal_to_their_default_even_when_set():
    tree = reported("trim")
    assert leaf(tree, "replicas") is None
    assert leaf(tree, "image").text == "i:1"


def test_report_all_of_a_get_config_adds_no_state_nodes():
    tree = reported("report-all")
    assert not [e for e in tree.iter() if etree.QName(e).localname == "state"]


def test_a_with_defaults_parameter_names_the_mode_and_none_is_the_basic_mode():
    get = etree.fromstring(
        f'<get xmlns="{NC}"><with-defaults xmlns="{defaults.MODULE_NS}">trim</with-defaults></get>'
    )
    assert defaults.mode_of(get) == "trim"
    assert defaults.mode_of(etree.Element(f"{{{NC}}}get")) == "explicit"


def test_an_unknown_with_defaults_mode_is_invalid_value():
    get = etree.fromstring(
        f'<get xmlns="{NC}"><with-defaults xmlns="{defaults.MODULE_NS}">all</with-defaults></get>'
    )
    with pytest.raises(errors.InvalidValue) as e:
        defaults.mode_of(get)
    assert e.value.info == {"bad-element": "with-defaults"}
    assert "report-all-tagged" in e.value.message


def edited(leaves: str) -> etree._Element:
    tree = copy.deepcopy(TREE)
    config = etree.fromstring(
        f'<config xmlns="{NC}" xmlns:wd="{WD}"><apps xmlns="{KA}"><app><name>web</name>'
        f"{leaves}</app></apps></config>"
    )
    editing.apply(load(), tree, config, "merge")
    return tree


def test_an_edited_leaf_tagged_as_default_is_accepted_when_it_holds_the_default():
    tree = edited('<termination-grace-period wd:default="true">30</termination-grace-period>')
    assert leaf(tree, "termination-grace-period").text == "30"
    assert leaf(tree, "termination-grace-period").get(f"{{{WD}}}default") is None


def test_an_edited_leaf_tagged_as_default_with_another_value_is_invalid_value():
    with pytest.raises(errors.InvalidValue) as e:
        edited('<termination-grace-period wd:default="true">5</termination-grace-period>')
    assert e.value.path == "/ka:apps/ka:app[ka:name='web']/ka:termination-grace-period"
    assert "'30'" in e.value.message


def test_an_edited_leaf_without_a_default_cannot_be_tagged_as_default():
    with pytest.raises(errors.InvalidValue) as e:
        edited('<image wd:default="true">docker.io/library/busybox:1.36</image>')
    assert "no default" in e.value.message
