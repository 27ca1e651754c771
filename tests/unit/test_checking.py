"""libyang and yangson reach the same verdict on the same trees, and the same values.

libyang decides whether a datastore tree is valid and gives its values; yangson is asked
only to explain a refusal. Both must therefore agree: a tree libyang accepts and yangson
refuses would be kept without an error anyone could name, one libyang refuses and yangson
accepts would be refused with a vague one, and values that differ would build other
Deployments than the configuration says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from yangson import exceptions as yx
from yangson.enumerations import ContentType

from k3s_netconf import errors, schema
from k3s_netconf.datastore import checking, store

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = schema.APPS_NS
BUSYBOX = "docker.io/library/busybox:1.36"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
IMAGES = (
    f'<images xmlns="{KA}"><image><name>{BUSYBOX}</name><archive>bb.tar</archive></image></images>'
)

FULL_APP = (
    "<app><name>full</name><image>" + BUSYBOX + "</image><enabled>false</enabled>"
    "<replicas>3</replicas><command>sh</command><args>-c</args><args>sleep 1d</args>"
    "<env><name>A</name><value>1</value></env><env><name>B</name><value>2</value></env>"
    "<port><name>http</name><container-port>80</container-port></port>"
    "<port><name>dns</name><container-port>53</container-port><protocol>udp</protocol></port>"
    "<resources><cpu-request>100</cpu-request><cpu-limit>500</cpu-limit>"
    "<memory-request>1048576</memory-request><memory-limit>18446744073709551615</memory-limit>"
    "<ephemeral-storage-limit>1073741824</ephemeral-storage-limit></resources>"
    "<volume><name>data</name><host-path>/var/lib/full</host-path>"
    "<mount-path>/data</mount-path><read-only>true</read-only></volume>"
    "<liveness-probe><http-get><path>/healthz</path><port>80</port></http-get>"
    "<initial-delay>5</initial-delay><period>7</period><timeout>2</timeout>"
    "<failure-threshold>4</failure-threshold></liveness-probe>"
    "<readiness-probe><exec-command>true</exec-command><exec-command>-x</exec-command>"
    "</readiness-probe><termination-grace-period>0</termination-grace-period></app>"
)
RULES = (
    f'<port-forwarding xmlns="{KA}"><rule><protocol>tcp</protocol><external-port>8080'
    "</external-port><app>full</app><port>http</port></rule><rule><protocol>udp</protocol>"
    "<external-port>5353</external-port><app>full</app><port>dns</port></rule></port-forwarding>"
)

VALID = {
    "empty": "",
    "an image alone": IMAGES,
    "the README's examples": "".join(
        (EXAMPLES / name).read_text()
        for name in ("web-image.xml", "web-app.xml", "web-forward.xml")
    ),
    "every leaf of an app, and rules": f'{IMAGES}<apps xmlns="{KA}">{FULL_APP}</apps>{RULES}',
}


def tree_of(model: schema.Schema, body: str) -> etree._Element:
    """A datastore tree as written, without the edit's own checks of each value."""
    del model
    return etree.fromstring(
        f'<data xmlns="{NC}">{body}</data>', etree.XMLParser(remove_blank_text=True)
    )


def by_yangson(model: schema.Schema, tree: etree._Element) -> dict | None:
    """yangson's raw value with defaults, or None when it refuses the tree."""
    try:
        instance = model.datamodel.from_xml(tree)
        instance.validate(ctype=ContentType.config)
    except (yx.ValidationError, yx.RawDataError, yx.RawTypeError):
        return None
    except TypeError:
        # yangson 1.7 fails so on an empty presence container whose choice is mandatory; the
        # server then answers with libyang's reason (test below).
        return None
    return without_empty(instance.add_defaults().raw_value())


def by_libyang(model: schema.Schema, tree: etree._Element) -> dict | None:
    try:
        return without_empty(model.checker.values(checking.content(tree)))
    except checking.Refused:
        return None


def without_empty(value):
    """The value without empty containers: yangson adds them with the defaults, libyang not."""
    if isinstance(value, dict):
        kept = {k: without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v != {}}
    if isinstance(value, list):
        return [without_empty(v) for v in value]
    return value


@pytest.mark.parametrize("body", VALID.values(), ids=VALID.keys())
def test_a_valid_tree_gives_the_same_values_with_defaults(model, body):
    tree = tree_of(model, body)
    values = by_libyang(model, tree)
    assert values is not None
    assert values == by_yangson(model, tree)


def test_an_empty_string_is_a_value_where_the_type_allows_it(model, tmp_path):
    # The one known difference: yangson's XML reader refuses an empty element for a string
    # leaf; libyang, like RFC 7950, takes it as the empty string. An empty variable is legal.
    running = store.Datastore(model, tmp_path / "running.xml")
    edit = f'<config xmlns="{NC}">{IMAGES}<apps xmlns="{KA}"><app><name>web</name>' + (
        f"<image>{BUSYBOX}</image><env><name>EMPTY</name><value/></env></app></apps></config>"
    )
    candidate = running.edited(etree.fromstring(edit), "merge")
    assert candidate.config.apps["web"].env == (("EMPTY", ""),)


def test_a_tree_yangson_cannot_check_is_refused_with_libyangs_reason(model, tmp_path):
    running = store.Datastore(model, tmp_path / "running.xml")
    edit = f'<config xmlns="{NC}">{IMAGES}<apps xmlns="{KA}"><app><name>web</name>' + (
        f"<image>{BUSYBOX}</image><liveness-probe/></app></apps></config>"
    )
    with pytest.raises(errors.DataMissing) as refused:
        running.edited(etree.fromstring(edit), "merge")
    assert refused.value.app_tag == "missing-choice"
    assert refused.value.path == "/ka:apps/ka:app/ka:liveness-probe"
    assert '"check"' in refused.value.message


def test_a_refusal_carries_libyangs_reason(model):
    tree = tree_of(model, f'<apps xmlns="{KA}"><app><name>web</name></app></apps>')
    with pytest.raises(checking.Refused, match="image"):
        model.checker.values(checking.content(tree))


# Random app entries over the leaves whose checks differ most between the two libraries:
# ranges, patterns, leafrefs, unique, must and mandatory nodes.
LEAVES = {
    "image": [BUSYBOX, "docker.io/library/nope:1"],
    "replicas": ["0", "64", "65", "007"],
    "enabled": ["true", "false"],
    "termination-grace-period": ["3600", "3601"],
}
PORTS = [
    "<port><name>http</name><container-port>80</container-port></port>",
    "<port><name>http-2</name><container-port>80</container-port></port>",
    "<port><name>a--b</name><container-port>81</container-port></port>",
    "<port><name>Http</name><container-port>82</container-port></port>",
    "<port><name>dns</name><container-port>53</container-port><protocol>udp</protocol></port>",
]
EXTRAS = [
    "",
    "<resources><cpu-request>100</cpu-request><cpu-limit>50</cpu-limit></resources>",
    "<resources><memory-request>2</memory-request><memory-limit>1</memory-limit></resources>",
    "<resources><cpu-limit>500</cpu-limit></resources>",
    "<liveness-probe/>",
    "<liveness-probe><tcp-port>80</tcp-port><timeout>9</timeout><period>3</period></liveness-probe>",
    "<volume><name>v</name><host-path>relative</host-path><mount-path>/m</mount-path></volume>",
    (
        "<volume><name>v</name><host-path>/h</host-path><mount-path>/m</mount-path></volume>"
        "<volume><name>w</name><host-path>/i</host-path><mount-path>/m</mount-path></volume>"
    ),
]


@st.composite
def app_entry(draw) -> str:
    leaves = "".join(
        f"<{name}>{draw(st.sampled_from(values))}</{name}>"
        for name, values in LEAVES.items()
        if draw(st.booleans())
    )
    ports = "".join(draw(st.lists(st.sampled_from(PORTS), max_size=3, unique=True)))
    name = draw(st.sampled_from(["web", "api", "x" * 63, "x" * 64, "-web"]))
    return f"<app><name>{name}</name>{leaves}{ports}{draw(st.sampled_from(EXTRAS))}</app>"


@st.composite
def rules(draw) -> str:
    entries = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["tcp", "udp"]),
                st.sampled_from(["8080", "0"]),
                st.sampled_from(["web", "api", "gone"]),
                st.sampled_from(["http", "dns", "none"]),
            ),
            max_size=2,
            unique_by=lambda rule: rule[:2],
        )
    )
    body = "".join(
        f"<rule><protocol>{protocol}</protocol><external-port>{port}</external-port>"
        f"<app>{app}</app><port>{target}</port></rule>"
        for protocol, port, app, target in entries
    )
    return f'<port-forwarding xmlns="{KA}">{body}</port-forwarding>' if body else ""


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(app_entry(), max_size=3, unique_by=lambda app: app.split("</name>")[0]), rules())
def test_random_configurations_get_one_verdict_and_the_same_values(model, apps, forwarding):
    tree = tree_of(model, f'{IMAGES}<apps xmlns="{KA}">{"".join(apps)}</apps>{forwarding}')
    assert by_libyang(model, tree) == by_yangson(model, tree)
