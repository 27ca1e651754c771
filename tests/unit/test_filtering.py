"""Subtree filters select data as RFC 6241 section 6 describes."""

from lxml import etree

from k3s_netconf.datastore.filtering import subtree

KA = "urn:k3s-netconf:yang:apps"
DATA = etree.fromstring(
    f'<data><apps xmlns="{KA}">'
    "<app><name>web</name><image>i:1</image><replicas>2</replicas></app>"
    "<app><name>api</name><image>i:2</image><replicas>1</replicas></app>"
    f'</apps><images xmlns="{KA}"><image><name>i:1</name></image></images></data>'
)


def select(body: str) -> etree._Element:
    return subtree(DATA, etree.fromstring(f'<filter xmlns:a="{KA}">{body}</filter>'))


def names(result: etree._Element) -> list[str]:
    return [e.text for e in result.iterfind(f".//{{{KA}}}app/{{{KA}}}name")]


def test_a_content_match_on_the_key_returns_that_entry_whole():
    result = select(f'<apps xmlns="{KA}"><app><name>web</name></app></apps>')
    assert names(result) == ["web"]
    assert result.findtext(f".//{{{KA}}}replicas") == "2"


def test_a_selection_node_returns_only_that_leaf_of_every_entry():
    result = select(f'<apps xmlns="{KA}"><app><name/></app></apps>')
    assert names(result) == ["web", "api"]
    assert result.find(f".//{{{KA}}}image") is None


def test_a_content_match_with_selection_returns_only_the_selected_children():
    result = select(f'<apps xmlns="{KA}"><app><name>api</name><replicas/></app></apps>')
    assert names(result) == ["api"]
    assert result.findtext(f".//{{{KA}}}replicas") == "1"
    assert result.find(f".//{{{KA}}}image") is None


def test_a_top_level_selection_leaves_out_other_top_level_nodes():
    result = select(f'<images xmlns="{KA}"/>')
    assert result.find(f"{{{KA}}}apps") is None
    assert result.find(f"{{{KA}}}images") is not None


def test_a_filter_in_another_namespace_selects_nothing():
    assert len(select('<apps xmlns="urn:example:other"/>')) == 0
