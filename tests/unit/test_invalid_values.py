"""Every leaf type of the model refuses values outside it, at the leaf's path, changing nothing.

One row per type and kind of wrong value: the edit goes to a saved datastore holding a valid
configuration, which must come out of a refusal as it went in, in memory and on disk.
"""

from __future__ import annotations

import pytest
from lxml import etree

from k3s_netconf import errors, schema
from k3s_netconf.datastore.store import Datastore

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KA = schema.APPS_NS
BUSYBOX = "docker.io/library/busybox:1.36"
APP = "/ka:apps/ka:app[ka:name='web']"
IMAGE = f"/ka:images/ka:image[ka:name='{BUSYBOX}']"
VALID = (
    f'<images xmlns="{KA}"><image><name>{BUSYBOX}</name><archive>bb.tar</archive></image></images>'
    f'<apps xmlns="{KA}"><app><name>web</name><image>{BUSYBOX}</image>'
    "<port><name>http</name><container-port>80</container-port></port></app></apps>"
)


def in_app(inner: str) -> str:
    return f'<apps xmlns="{KA}"><app><name>web</name>{inner}</app></apps>'


def in_image(inner: str) -> str:
    return f'<images xmlns="{KA}"><image><name>{BUSYBOX}</name>{inner}</image></images>'


def port(inner: str) -> str:
    return in_app(f"<port><name>http</name>{inner}</port>")


def probe(inner: str) -> str:
    return in_app(f"<liveness-probe>{inner}</liveness-probe>")


# (what the row checks, the edit, the error-tag, how the error-path ends)
CASES = [
    (
        "uint32 replicas, not a number",
        in_app("<replicas>three</replicas>"),
        "invalid-value",
        f"{APP}/ka:replicas",
    ),
    (
        "uint32 replicas, negative",
        in_app("<replicas>-1</replicas>"),
        "invalid-value",
        f"{APP}/ka:replicas",
    ),
    (
        "uint32 replicas, beyond its range 0..64",
        in_app("<replicas>65</replicas>"),
        "invalid-value",
        f"{APP}/ka:replicas",
    ),
    (
        "uint32 replicas, beyond 2^32",
        in_app("<replicas>4294967296</replicas>"),
        "invalid-value",
        f"{APP}/ka:replicas",
    ),
    (
        "uint32 replicas, a fraction",
        in_app("<replicas>1.5</replicas>"),
        "invalid-value",
        f"{APP}/ka:replicas",
    ),
    ("uint32 replicas, empty", in_app("<replicas/>"), "invalid-value", f"{APP}/ka:replicas"),
    (
        "uint32 grace period, beyond 3600",
        in_app("<termination-grace-period>3601</termination-grace-period>"),
        "invalid-value",
        f"{APP}/ka:termination-grace-period",
    ),
    (
        "uint32 probe period, zero",
        probe("<tcp-port>80</tcp-port><period>0</period>"),
        "invalid-value",
        f"{APP}/ka:liveness-probe/ka:period",
    ),
    (
        "port-number, zero",
        port("<container-port>0</container-port>"),
        "invalid-value",
        f"{APP}/ka:port[ka:name='http']/ka:container-port",
    ),
    (
        "port-number, beyond 65535",
        port("<container-port>65536</container-port>"),
        "invalid-value",
        f"{APP}/ka:port[ka:name='http']/ka:container-port",
    ),
    (
        "port-number, hexadecimal",
        port("<container-port>0x50</container-port>"),
        "invalid-value",
        f"{APP}/ka:port[ka:name='http']/ka:container-port",
    ),
    (
        "millicores, zero",
        in_app("<resources><cpu-request>0</cpu-request></resources>"),
        "invalid-value",
        f"{APP}/ka:resources/ka:cpu-request",
    ),
    (
        "millicores, beyond 1024000",
        in_app("<resources><cpu-limit>1024001</cpu-limit></resources>"),
        "invalid-value",
        f"{APP}/ka:resources/ka:cpu-limit",
    ),
    (
        "millicores, with a unit",
        in_app("<resources><cpu-limit>500m</cpu-limit></resources>"),
        "invalid-value",
        f"{APP}/ka:resources/ka:cpu-limit",
    ),
    (
        "bytes, zero",
        in_app("<resources><memory-limit>0</memory-limit></resources>"),
        "invalid-value",
        f"{APP}/ka:resources/ka:memory-limit",
    ),
    (
        "bytes, beyond 2^64",
        in_app("<resources><memory-limit>18446744073709551616</memory-limit></resources>"),
        "invalid-value",
        f"{APP}/ka:resources/ka:memory-limit",
    ),
    (
        "bytes, with a unit",
        in_app("<resources><memory-request>64Mi</memory-request></resources>"),
        "invalid-value",
        f"{APP}/ka:resources/ka:memory-request",
    ),
    (
        "app-name pattern, upper case",
        f'<apps xmlns="{KA}"><app><name>Web</name><image>{BUSYBOX}</image></app></apps>',
        "invalid-value",
        "/ka:apps/ka:app[ka:name='Web']/ka:name",
    ),
    (
        "app-name pattern, trailing hyphen",
        f'<apps xmlns="{KA}"><app><name>web-</name><image>{BUSYBOX}</image></app></apps>',
        "invalid-value",
        "/ka:apps/ka:app[ka:name='web-']/ka:name",
    ),
    (
        "app-name of a volume, a slash",
        in_app(
            "<volume><name>a/b</name><host-path>/srv</host-path><mount-path>/d</mount-path>"
            "</volume>"
        ),
        "invalid-value",
        f"{APP}/ka:volume[ka:name='a/b']/ka:name",
    ),
    (
        "image-reference pattern, spaces",
        (
            f'<images xmlns="{KA}"><image><name>bad image</name>'
            "<archive>x.tar</archive></image></images>"
        ),
        "invalid-value",
        "/ka:images/ka:image[ka:name='bad image']/ka:name",
    ),
    (
        "sha256-hex pattern, too short",
        in_image("<sha256>abc123</sha256>"),
        "invalid-value",
        f"{IMAGE}/ka:sha256",
    ),
    (
        "sha256-hex pattern, upper case",
        in_image(f"<sha256>{'A' * 64}</sha256>"),
        "invalid-value",
        f"{IMAGE}/ka:sha256",
    ),
    (
        "env name pattern, starts with a digit",
        in_app("<env><name>1X</name><value>v</value></env>"),
        "invalid-value",
        f"{APP}/ka:env[ka:name='1X']/ka:name",
    ),
    (
        "port name pattern, only digits",
        in_app("<port><name>80</name><container-port>80</container-port></port>"),
        "invalid-value",
        f"{APP}/ka:port[ka:name='80']/ka:name",
    ),
    (
        "path pattern, relative host-path",
        in_app(
            "<volume><name>v</name><host-path>srv</host-path><mount-path>/d</mount-path></volume>"
        ),
        "invalid-value",
        f"{APP}/ka:volume[ka:name='v']/ka:host-path",
    ),
    (
        "string length, one-character mount-path",
        in_app(
            "<volume><name>v</name><host-path>/srv</host-path><mount-path>/</mount-path></volume>"
        ),
        "invalid-value",
        f"{APP}/ka:volume[ka:name='v']/ka:mount-path",
    ),
    (
        "http-get path pattern, no leading slash",
        probe("<http-get><path>health</path><port>80</port></http-get>"),
        "invalid-value",
        f"{APP}/ka:liveness-probe/ka:http-get/ka:path",
    ),
    (
        "enumeration transport-protocol, unknown",
        port("<protocol>sctp</protocol>"),
        "invalid-value",
        f"{APP}/ka:port[ka:name='http']/ka:protocol",
    ),
    (
        "enumeration transport-protocol, wrong case",
        port("<protocol>TCP</protocol>"),
        "invalid-value",
        f"{APP}/ka:port[ka:name='http']/ka:protocol",
    ),
    (
        "boolean enabled, yes",
        in_app("<enabled>yes</enabled>"),
        "invalid-value",
        f"{APP}/ka:enabled",
    ),
    ("boolean enabled, 1", in_app("<enabled>1</enabled>"), "invalid-value", f"{APP}/ka:enabled"),
    (
        "boolean read-only, True",
        in_app(
            "<volume><name>v</name><host-path>/srv</host-path><mount-path>/d</mount-path>"
            "<read-only>True</read-only></volume>"
        ),
        "invalid-value",
        f"{APP}/ka:volume[ka:name='v']/ka:read-only",
    ),
    (
        "leafref image, no such image",
        in_app("<image>docker.io/library/nope:1</image>"),
        "data-missing",
        f"{APP}/ka:image",
    ),
]


@pytest.fixture
def running(model, tmp_path):
    store = Datastore(model, tmp_path / "running.xml")
    store.replace(store.edited(config(VALID), "merge"))
    return store


def config(body: str) -> etree._Element:
    return etree.fromstring(f'<config xmlns="{NC}">{body}</config>')


@pytest.mark.parametrize(("edit", "tag", "path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_invalid_value_of_each_leaf_type_is_refused_at_its_path(running, edit, tag, path):
    before = etree.tostring(running.tree, method="c14n")
    saved = running.path.read_bytes()

    with pytest.raises(errors.NetconfError) as e:
        running.edited(config(edit), "merge")

    assert (e.value.tag, e.value.path) == (tag, path)
    assert e.value.message
    assert etree.tostring(running.tree, method="c14n") == before
    assert running.path.read_bytes() == saved


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (in_app("<replicas>1</replicas><replicas>2</replicas>"), f"{APP}/ka:replicas"),
        (in_app("<name>api</name>"), f"{APP}/ka:name"),
    ],
    ids=["a leaf", "a list key"],
)
def test_a_leaf_given_twice_in_one_entry_is_a_bad_element(running, edit, path):
    # The last value used to win without a word.
    before = etree.tostring(running.tree, method="c14n")

    with pytest.raises(errors.BadElement) as e:
        running.edited(config(edit), "merge")

    assert e.value.path == path
    assert etree.tostring(running.tree, method="c14n") == before
