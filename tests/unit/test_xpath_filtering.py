"""XPath filters select nodes with their ancestors and keys, as RFC 6241 section 8.9 says."""

import pytest
from lxml import etree

from k3s_netconf import errors
from k3s_netconf.datastore.filtering import filtered
from k3s_netconf.datastore.xpath import rooted
from k3s_netconf.schema import load

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = "urn:k3s-netconf:yang:apps"
DATA = etree.fromstring(
    f'<data xmlns="{NC}"><apps xmlns="{KA}">'
    "<app><name>web</name><image>i:1</image><replicas>2</replicas></app>"
    "<app><name>api</name><image>i:2</image><replicas>1</replicas></app>"
    f'</apps><images xmlns="{KA}"><image><name>i:1</name><archive>a.tar</archive></image>'
    "</images></data>"
)


def select(expression: str, prefix: str = "ka") -> etree._Element:
    filter_ = etree.Element(
        f"{{{NC}}}filter", {"type": "xpath", "select": expression}, nsmap={prefix: KA}
    )
    return filtered(load(), DATA, filter_)


def children(element: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in element]


def test_an_absolute_path_selects_a_top_level_container_whole():
    result = select("/ka:images")
    assert children(result) == ["images"]
    assert result.findtext(f".//{{{KA}}}archive") == "a.tar"


def test_a_selected_leaf_comes_with_the_key_of_its_list_entry():
    result = select("/ka:apps/ka:app/ka:image")
    apps = result.findall(f"{{{KA}}}apps/{{{KA}}}app")
    assert [children(a) for a in apps] == [["name", "image"], ["name", "image"]]


def test_a_predicate_on_a_non_key_leaf_selects_only_matching_entries():
    result = select("/ka:apps/ka:app[ka:replicas > 1]/ka:replicas")
    (app,) = result.iterfind(f".//{{{KA}}}app")
    assert app.findtext(f"{{{KA}}}name") == "web"
    assert children(app) == ["name", "replicas"]


def test_a_union_and_a_path_across_top_level_nodes_are_evaluated():
    result = select("/ka:apps/ka:app[ka:image = /ka:images/ka:image/ka:name]/ka:name | /ka:images")
    assert [e.text for e in result.iterfind(f".//{{{KA}}}app/{{{KA}}}name")] == ["web"]
    assert result.find(f"{{{KA}}}images") is not None


def test_any_prefix_declared_on_the_filter_may_name_the_namespace():
    assert len(select("//apps:app[apps:name='api']", prefix="apps").findall(f".//{{{KA}}}app")) == 1


def test_a_text_node_selects_its_element():
    result = select("/ka:apps/ka:app[ka:name='api']/ka:image/text()")
    assert result.findtext(f".//{{{KA}}}image") == "i:2"


@pytest.mark.parametrize(
    "expression", ["/ka:apps[", "/nope:apps", "count(/ka:apps/ka:app)", "/ka:apps/ka:app/@@"]
)
def test_a_bad_expression_an_unknown_prefix_or_a_non_node_set_is_invalid_value(expression):
    with pytest.raises(errors.InvalidValue) as e:
        select(expression)
    assert e.value.error_type == "protocol"
    assert e.value.info["bad-attribute"] == "select"
    assert repr(expression) in e.value.message


def test_an_xpath_filter_without_select_is_missing_attribute():
    filter_ = etree.Element(f"{{{NC}}}filter", {"type": "xpath"})
    with pytest.raises(errors.MissingAttribute):
        filtered(load(), DATA, filter_)


def test_an_unknown_filter_type_is_invalid_value():
    filter_ = etree.Element(f"{{{NC}}}filter", {"type": "regex"})
    with pytest.raises(errors.InvalidValue) as e:
        filtered(load(), DATA, filter_)
    assert e.value.info["bad-attribute"] == "type"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("/", "/*"),
        ("/a:b", "/*/a:b"),
        ("//a:b", "/*//a:b"),
        ("a:b/a:c", "a:b/a:c"),
        ("/a:b | /a:c", "/*/a:b | /*/a:c"),
        ("2 * /a:b", "2 * /*/a:b"),
        ("/a:b[a:c = /a:d and 1 div 2]", "/*/a:b[a:c = /*/a:d and 1 div 2]"),
        ("/a:b['/x']", "/*/a:b['/x']"),
    ],
)
def test_absolute_paths_are_rooted_at_the_top_level_nodes_and_nothing_else(expression, expected):
    assert rooted(expression) == expected


def test_a_namespace_node_selects_nothing():
    assert len(select("/ka:apps/namespace::*")) == 0
