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


def test_several_content_matches_in_one_sibling_set_must_all_hold():
    both = select(f'<apps xmlns="{KA}"><app><name>web</name><replicas>2</replicas></app></apps>')
    assert names(both) == ["web"]
    neither = select(f'<apps xmlns="{KA}"><app><name>web</name><replicas>1</replicas></app></apps>')
    assert len(neither) == 0


def test_a_content_match_on_a_non_key_leaf_selects_the_entries_that_hold_it():
    result = select(f'<apps xmlns="{KA}"><app><image>i:2</image></app></apps>')
    assert names(result) == ["api"]
    assert result.findtext(f".//{{{KA}}}replicas") == "1"


def test_two_selectors_of_the_same_list_return_what_either_selects():
    result = select(
        f'<apps xmlns="{KA}"><app><name>web</name><image/></app>'
        "<app><name>web</name><replicas/></app></apps>"
    )
    (app,) = result.iterfind(f".//{{{KA}}}app")
    assert [etree.QName(c).localname for c in app] == ["name", "image", "replicas"]


def test_a_filter_element_in_no_namespace_matches_any_namespace():
    result = select('<apps xmlns=""><app><name>api</name></app></apps>')
    assert names(result) == ["api"]


def test_a_containment_node_that_selects_nothing_leaves_its_parent_out():
    result = select(f'<apps xmlns="{KA}"><app><ports><port/></ports></app></apps>')
    assert len(result) == 0


def test_a_selection_absent_from_a_matching_entry_still_returns_the_entry_by_its_key():
    result = select(f'<apps xmlns="{KA}"><app><name>web</name><command/></app></apps>')
    (app,) = result.iterfind(f".//{{{KA}}}app")
    assert [etree.QName(c).localname for c in app] == ["name"]


def test_an_empty_filter_selects_nothing():
    assert len(select("")) == 0


# RFC 6241 6.4: the examples, on the RFC's own data.

T = "http://example.com/schema/1.2/config"
USERS = etree.fromstring(
    f'<data><top xmlns="{T}"><users>'
    "<user><name>root</name><type>superuser</type><full-name>Charlie Root</full-name>"
    "<company-info><dept>1</dept><id>1</id></company-info></user>"
    "<user><name>fred</name><type>admin</type><full-name>Fred Flintstone</full-name>"
    "<company-info><dept>2</dept><id>2</id></company-info></user>"
    "<user><name>barney</name><type>admin</type><full-name>Barney Rubble</full-name>"
    "<company-info><dept>2</dept><id>3</id></company-info></user>"
    f'</users></top><interfaces xmlns="{T}">'
    '<interface ifName="eth0"><ifInOctets>45621</ifInOctets></interface>'
    '<interface ifName="eth1"><ifInOctets>1</ifInOctets></interface>'
    "</interfaces></data>"
)


def users(body: str) -> etree._Element:
    return subtree(USERS, etree.fromstring(f'<filter xmlns="{T}">{body}</filter>'))


def user_names(result: etree._Element) -> list[str]:
    return [e.text for e in result.iterfind(f".//{{{T}}}user/{{{T}}}name")]


def test_rfc_6_4_3_all_users_with_only_their_names():
    result = users("<top><users><user><name/></user></users></top>")
    assert user_names(result) == ["root", "fred", "barney"]
    assert result.find(f".//{{{T}}}type") is None


def test_rfc_6_4_4_one_user_whole():
    result = users("<top><users><user><name>fred</name></user></users></top>")
    assert user_names(result) == ["fred"]
    assert result.findtext(f".//{{{T}}}company-info/{{{T}}}id") == "2"


def test_rfc_6_4_5_one_user_with_selected_children():
    result = users("<top><users><user><name>fred</name><type/><full-name/></user></users></top>")
    (user,) = result.iterfind(f".//{{{T}}}user")
    assert [etree.QName(c).localname for c in user] == ["name", "type", "full-name"]


def test_rfc_6_4_6_multiple_subtrees_each_pick_their_own_entry():
    result = users(
        "<top><users>"
        "<user><name>root</name><company-info/></user>"
        "<user><name>fred</name><company-info><id/></company-info></user>"
        "<user><name>barney</name><type>superuser</type><company-info><dept/></company-info></user>"
        "</users></top>"
    )
    assert user_names(result) == ["root", "fred"]
    fred = result.find(f".//{{{T}}}user[{{{T}}}name='fred']/{{{T}}}company-info")
    assert [etree.QName(c).localname for c in fred] == ["id"]


def test_rfc_6_4_7_an_attribute_match_selects_the_entry_that_carries_it():
    result = users('<interfaces><interface ifName="eth0"/></interfaces>')
    (interface,) = result.iterfind(f".//{{{T}}}interface")
    assert interface.get("ifName") == "eth0"
    assert interface.findtext(f"{{{T}}}ifInOctets") == "45621"
