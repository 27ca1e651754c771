"""New list entries copied from an edit end as the walk through every node would leave them.

An edit of running copies the entries it creates without the walk's checks and validates the
result; when that fails, it walks the edit again. Either way the tree, or the error, must be
the walk's: each case here is applied both ways and the outcomes compared.
"""

from __future__ import annotations

import copy

import pytest
from lxml import etree
from test_invalid_values import CASES

from k3s_netconf import errors, schema
from k3s_netconf.datastore import editing
from k3s_netconf.datastore.store import Datastore
from k3s_netconf.protocol import messages

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = schema.APPS_NS
BUSYBOX = "docker.io/library/busybox:1.36"
BASE = (
    f'<images xmlns="{KA}"><image><name>{BUSYBOX}</name><archive>bb.tar</archive></image></images>'
    f'<apps xmlns="{KA}"><app><name>web</name><image>{BUSYBOX}</image></app></apps>'
)


def new_app(inner: str, name: str = "fresh", attrs: str = "") -> str:
    return f'<apps xmlns="{KA}"><app{attrs}><name>{name}</name>{inner}</app></apps>'


def config(body: str) -> etree._Element:
    # Parsed as the server parses messages: without the white space between elements.
    rpc = messages.parse(
        f'<rpc xmlns="{NC}" xmlns:nc="{NC}"><config>{body}</config></rpc>'.encode()
    )
    return rpc[0]


@pytest.fixture
def running(model, tmp_path):
    store = Datastore(model, tmp_path / "running.xml")
    store.replace(store.edited(config(BASE), "merge"))
    return store


def walked(running: Datastore, edit: etree._Element):
    """The edit as the walk alone makes it: the tree and config, or the error."""
    tree = copy.deepcopy(running.tree)
    try:
        edited = editing.apply(running.schema, tree, edit, "merge")
        candidate = running.changed_to(
            tree, {"web"} - {e.findtext(f"{{{KA}}}name") for e in edited.entries}
        )
    except errors.NetconfError as e:
        return (e.tag, e.path, e.message)
    return etree.tostring(candidate.tree), candidate.config  # byte for byte, not only c14n


def made(running: Datastore, edit: etree._Element):
    try:
        candidate = running.edited(edit, "merge")
    except errors.NetconfError as e:
        return (e.tag, e.path, e.message)
    return etree.tostring(candidate.tree), candidate.config  # byte for byte, not only c14n


VALID = {
    "plain": new_app(f"<image>{BUSYBOX}</image><replicas>2</replicas>"),
    "indented": (
        f'<apps xmlns="{KA}">\n  <app>\n    <name>fresh</name>\n    <image>{BUSYBOX}</image>\n'
        "    <args>-c</args>\n    <args>sleep 1</args>\n"
        "    <env>\n      <name>A</name>\n      <value>1</value>\n    </env>\n"
        "  </app>\n</apps>"
    ),
    "a probe with a nested container": new_app(
        f"<image>{BUSYBOX}</image>"
        "<readiness-probe><http-get><port>80</port></http-get><period>3</period></readiness-probe>"
    ),
    "created": new_app(f"<image>{BUSYBOX}</image>", attrs=' nc:operation="create"'),
    "replaced": new_app(f"<image>{BUSYBOX}</image>", attrs=' nc:operation="replace"'),
    "many": f'<apps xmlns="{KA}">'
    + "".join(f"<app><name>a{i}</name><image>{BUSYBOX}</image></app>" for i in range(20))
    + "</apps>",
}

# Entries the copy declines or libyang refuses, so that the walk decides.
WALKED = {
    "empty containers": new_app(
        f"<image>{BUSYBOX}</image><resources/>"
        "<liveness-probe><tcp-port>80</tcp-port></liveness-probe><env><name>A</name></env>"
    ),
    "keys last": (
        f'<apps xmlns="{KA}"><app><image>{BUSYBOX}</image>'
        "<env><value>1</value><name>A</name></env><name>fresh</name></app></apps>"
    ),
    "a nested key last": new_app(
        f"<image>{BUSYBOX}</image><env><value>1</value><name>A</name></env>"
    ),
    "values padded": new_app(
        f"<image> {BUSYBOX} </image><args> sleep 1 </args><args>sleep  2</args>"
        "<env><name>\n A\n</name><value>   </value></env>"
    ),
    "text beside elements": new_app(f"<image>{BUSYBOX}</image>text<replicas>2</replicas>"),
    "a leaf holding only elements": new_app("<image><tag>1</tag></image>"),
    "prefixed": (
        f'<k:apps xmlns:k="{KA}"><k:app><k:name>fresh</k:name><k:image>{BUSYBOX}</k:image>'
        "<k:port><k:name>http</k:name><k:container-port>80</k:container-port></k:port>"
        "</k:app></k:apps>"
    ),
    "a leaf given twice": new_app(
        f"<image>{BUSYBOX}</image><replicas>1</replicas><replicas>2</replicas>"
    ),
    "a key given twice": new_app(f"<image>{BUSYBOX}</image><name>other</name>"),
    "an args value given twice": new_app(f"<image>{BUSYBOX}</image><args>-c</args><args>-c</args>"),
    "two cases of one choice": new_app(
        f"<image>{BUSYBOX}</image>"
        "<liveness-probe><tcp-port>80</tcp-port><exec-command>true</exec-command></liveness-probe>"
    ),
    "an empty container of a case after another case": new_app(
        f"<image>{BUSYBOX}</image>"
        "<liveness-probe><tcp-port>80</tcp-port><http-get/></liveness-probe>"
    ),
    "an unknown element": new_app(f"<image>{BUSYBOX}</image><colour>red</colour>"),
    "a state node": new_app(
        f"<image>{BUSYBOX}</image><state><ready-replicas>1</ready-replicas></state>"
    ),
    "an operation inside": new_app(f'<image>{BUSYBOX}</image><replicas nc:operation="delete"/>'),
    "an unknown attribute inside": new_app(f'<image>{BUSYBOX}</image><replicas x="1">2</replicas>'),
    "a comment inside": new_app(f"<image>{BUSYBOX}</image><!-- two --><replicas>2</replicas>"),
    "a leaf holding elements": new_app(f"<image>{BUSYBOX}<tag>1</tag></image>"),
    "a missing image": new_app("<image>docker.io/library/nope:1</image>"),
    "no image": new_app("<replicas>2</replicas>"),
    "a nested entry without its key": new_app(
        f"<image>{BUSYBOX}</image><env><value>1</value></env>"
    ),
    "an empty key": new_app(f"<image>{BUSYBOX}</image>", name=""),
}


@pytest.mark.parametrize("edit", VALID.values(), ids=VALID.keys())
def test_a_valid_new_entry_is_copied_to_the_tree_the_walk_builds(running, edit):
    tree = copy.deepcopy(running.tree)
    assert editing.apply(running.schema, tree, config(edit), "merge", True).copied

    outcome = made(running, config(edit))

    assert outcome == walked(running, config(edit))
    assert isinstance(outcome[0], bytes), f"refused: {outcome}"


@pytest.mark.parametrize("edit", WALKED.values(), ids=WALKED.keys())
def test_a_new_entry_the_copy_cannot_take_ends_as_the_walk_ends_it(running, edit):
    assert made(running, config(edit)) == walked(running, config(edit))


@pytest.mark.parametrize("edit", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_each_invalid_value_in_a_new_app_gets_the_error_of_the_walk(running, edit):
    # The cases edit the app "web": here they create an app beside it instead.
    fresh = edit.replace("<name>web</name>", f"<name>fresh</name><image>{BUSYBOX}</image>", 1)
    outcome = made(running, config(fresh))

    assert outcome == walked(running, config(fresh))
    assert isinstance(outcome[0], str), "an invalid value was accepted"


def test_a_refused_copy_leaves_the_datastore_as_it_was(running):
    before = etree.tostring(running.tree, method="c14n")
    saved = running.path.read_bytes()

    with pytest.raises(errors.InvalidValue):
        running.edited(config(new_app(f"<image>{BUSYBOX}</image><replicas>-1</replicas>")), "merge")

    assert etree.tostring(running.tree, method="c14n") == before
    assert running.path.read_bytes() == saved
