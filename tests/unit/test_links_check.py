"""Checking the links says what is missing, one sentence each, and never raises."""

import dataclasses

import pytest

from k3s_netconf.network.links import Link, Side, Survey, check
from k3s_netconf.settings import NetworkSettings, SettingsError, from_mapping

SETTINGS = NetworkSettings()


def link(name: str, kind: str | None = None, *addresses: str, up=True, forwarding=True) -> Link:
    return Link(name, kind, up, addresses, forwarding)


def complete_survey() -> Survey:
    management = Side(
        "zebosfib1",
        True,
        {
            "eth0": link("eth0", None, "192.0.2.10/24"),
            "fib1veth": link("fib1veth", "veth", "100.64.254.1/30"),
        },
        pod_route="fib1veth",
    )
    cluster = Side(
        "zebosfib0",
        True,
        {
            "fib0veth": link("fib0veth", "veth", "100.64.254.2/30"),
            "cni0": link("cni0", "bridge", "10.42.0.1/24"),
        },
        pod_route="cni0",
    )
    return Survey(management, cluster)


def with_link(seen: Survey, side: str, new: Link | None, name: str) -> Survey:
    before = getattr(seen, side)
    links = {k: v for k, v in before.links.items() if k != name}
    if new is not None:
        links[name] = new
    return dataclasses.replace(seen, **{side: dataclasses.replace(before, links=links)})


def test_a_complete_layout_has_no_problems_and_forwards_from_the_interfaces_address():
    found = check(SETTINGS, complete_survey())
    assert found.problems == ()
    assert found.address == "192.0.2.10"
    assert found.blocker is None


def test_a_missing_management_namespace_blocks_the_table():
    seen = Survey(Side("zebosfib1", False), Side("zebosfib0", False))
    found = check(SETTINGS, seen)
    assert found.blocker == ("network namespace 'zebosfib1' (management_namespace) does not exist")
    assert found.problems == (found.blocker,)


def test_an_interface_without_an_address_blocks_unless_the_address_is_set():
    seen = with_link(complete_survey(), "management", link("eth0"), "eth0")
    assert "has no IPv4 address" in (check(SETTINGS, seen).blocker or "")

    set_address = dataclasses.replace(SETTINGS, management_address="192.0.2.99")
    found = check(set_address, seen)
    assert (found.address, found.blocker) == ("192.0.2.99", None)


@pytest.mark.parametrize(
    ("side", "name", "new", "problem"),
    [
        (
            "management",
            "fib1veth",
            None,
            "the veth 'fib1veth' is missing in network namespace 'zebosfib1'",
        ),
        (
            "management",
            "fib1veth",
            link("fib1veth", "veth", "100.64.254.1/30", up=False),
            "the veth 'fib1veth' in network namespace 'zebosfib1' is down",
        ),
        (
            "cluster",
            "fib0veth",
            link("fib0veth", "veth"),
            "the veth 'fib0veth' in network namespace 'zebosfib0' lacks its address 100.64.254.2/30",
        ),
        (
            "cluster",
            "fib0veth",
            link("fib0veth", "veth", "100.64.254.2/30", forwarding=False),
            "IPv4 forwarding is off on the veth 'fib0veth' in network namespace 'zebosfib0'",
        ),
        (
            "management",
            "eth0",
            link("eth0", None, "192.0.2.10/24", forwarding=False),
            "IPv4 forwarding is off on the management interface 'eth0'",
        ),
        (
            "cluster",
            "fib0veth",
            link("fib0veth", "dummy", "100.64.254.2/30"),
            "'fib0veth' in network namespace 'zebosfib0' is a dummy link, not a veth",
        ),
    ],
    ids=[
        "veth-missing",
        "veth-down",
        "no-address",
        "no-forwarding",
        "interface-forwarding",
        "not-a-veth",
    ],
)
def test_each_missing_piece_is_one_problem(side, name, new, problem):
    found = check(SETTINGS, with_link(complete_survey(), side, new, name))
    assert found.problems == (problem,)
    assert found.blocker is None


def test_a_pod_cidr_routed_elsewhere_is_reported():
    seen = complete_survey()
    seen = dataclasses.replace(
        seen, management=dataclasses.replace(seen.management, pod_route="eth0")
    )
    expected = (
        "the Pod CIDR 10.42.0.0/16 is routed via 'eth0', not via the veth 'fib1veth', in "
        "network namespace 'zebosfib1'"
    )
    assert check(SETTINGS, seen).problems == (expected,)


def test_one_namespace_without_a_veth_needs_only_an_interface_and_a_route():
    plain = dataclasses.replace(
        SETTINGS,
        management_namespace="",
        cluster_namespace="",
        management_veth="",
        cluster_veth="",
    )
    bridge = link("cni0", "bridge", "10.42.0.1/24")
    side = Side(
        "", True, {"eth0": link("eth0", None, "192.0.2.10/24"), "cni0": bridge}, pod_route="cni0"
    )
    assert check(plain, Survey(side, side)).problems == ()

    off = dataclasses.replace(
        side, links={**side.links, "cni0": dataclasses.replace(bridge, forwarding=False)}
    )
    assert check(plain, Survey(off, off)).problems == (
        "IPv4 forwarding is off on 'cni0', the link to the Pods",
    )


def test_a_bridged_cluster_end_needs_no_address_nor_forwarding():
    bridged = dataclasses.replace(
        SETTINGS, cluster_veth_address="", management_veth_address="10.42.255.250/16"
    )
    seen = with_link(
        complete_survey(), "cluster", link("fib0veth", "veth", forwarding=False), "fib0veth"
    )
    seen = with_link(seen, "management", link("fib1veth", "veth", "10.42.255.250/16"), "fib1veth")
    assert check(bridged, seen).problems == ()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"pod_cidr": "10.42.0.1/16"}, "network.pod_cidr must be an IPv4 network"),
        ({"management_address": "fd00::1"}, "network.management_address"),
        ({"management_veth": ""}, "are set together"),
        ({"table": "k3s-netconf"}, "network.table must be an nftables name"),
        ({"management_interface": "a/b"}, "network.management_interface is not a usable name"),
        ({"create_missing": "yes"}, "network.create_missing must be true or false"),
    ],
)
def test_network_settings_that_cannot_work_are_refused(values, message):
    with pytest.raises(SettingsError) as e:
        from_mapping({"network": values})
    assert message in str(e.value)


def test_a_namespace_netlink_cannot_read_is_one_problem_and_blocks_without_an_address():
    seen = complete_survey()
    refused = "cannot read network namespace 'zebosfib0': Operation not permitted"
    seen = dataclasses.replace(seen, cluster=Side("zebosfib0", True, unreadable=refused))
    found = check(SETTINGS, seen)
    assert (found.problems, found.blocker) == ((refused,), refused)

    set_address = dataclasses.replace(SETTINGS, management_address="192.0.2.10")
    assert check(set_address, seen).blocker is None
