"""Port forwarding with real packets: a client, the management namespace, a bridge, "Pods".

The forwarder under test is the daemon's own, given the lab's names in its settings and the
Pods as the watch cache would report them. Everything else is the kernel's: veth pairs,
routes, the nftables table, conntrack, and TCP and UDP between processes in the namespaces.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from k3s_netconf import errors
from k3s_netconf.desired import Forward
from k3s_netconf.network import links
from k3s_netconf.network.forwarding import Forwarder
from k3s_netconf.observed import AppState, PodState
from k3s_netconf.settings import NetworkSettings
from network.topology import (
    CLUSTER_VETH_ADDRESS,
    ECHO_PORT,
    MANAGEMENT_ADDRESS,
    MANAGEMENT_VETH_ADDRESS,
    POD_CIDR,
    Lab,
    wait_for,
)

pytestmark = pytest.mark.network

TCP = Forward("tcp", 8080, "echo", "tcp", ECHO_PORT)
UDP = Forward("udp", 5353, "echo", "udp", ECHO_PORT)
# The table must follow a moved Pod within this many seconds.
FOLLOW_SECONDS = 1.0


class Pods:
    """What the watch cache would say of the app's Pods, changed by the test."""

    def __init__(self) -> None:
        self.apps: dict[str, AppState] = {}

    def run(self, name: str, address: str) -> None:
        pod = PodState(name=name, app="echo", phase="Running", pod_ip=address, ready=True)
        self.apps = {"echo": AppState("echo", 1, 1, (pod,))}

    def __call__(self) -> dict[str, AppState]:
        return self.apps


def settings(lab: Lab, **changes: object) -> NetworkSettings:
    values: dict[str, object] = {
        "management_namespace": lab.management,
        "management_interface": "mg0",
        "cluster_namespace": lab.cluster,
        "management_veth_address": MANAGEMENT_VETH_ADDRESS,
        "cluster_veth_address": CLUSTER_VETH_ADDRESS,
        "pod_cidr": POD_CIDR,
        "create_missing": True,
        **changes,
    }
    return NetworkSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def pods() -> Pods:
    return Pods()


@pytest.fixture
def forwarder(lab: Lab, pods: Pods) -> Iterator[Forwarder]:
    made = Forwarder(settings(lab), pods, current=lambda: True)
    yield made
    made.stop()


def test_a_client_reaches_the_pod_through_the_management_address_over_tcp_and_udp(
    lab: Lab, pods: Pods, forwarder: Forwarder
):
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")

    forwarder.install((TCP, UDP))

    assert lab.ask("tcp", 8080, "hello") == "pod1:hello"
    assert lab.ask("udp", 5353, "hello") == "pod1:hello"
    # The plugin made the veth pair, its addresses, the route and turned forwarding on.
    assert forwarder.state().problems == ()
    assert forwarder.state().management_address == MANAGEMENT_ADDRESS
    assert "fib0veth" in lab.links(lab.cluster)


def test_get_reports_each_rules_target_and_counts_its_packets(
    lab: Lab, pods: Pods, forwarder: Forwarder
):
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")
    forwarder.install((TCP, UDP))
    assert lab.ask("tcp", 8080, "count me") == "pod1:count me"

    # A get older than a second has the table listed again behind it: ask until it shows.
    assert wait_for(lambda: _tcp_packets(forwarder) >= 6, timeout=5) is not None
    states = forwarder.rule_states()
    tcp, udp = states[("tcp", 8080)], states[("udp", 5353)]
    assert (tcp.target_address, tcp.target_port, tcp.active) == ("172.31.242.10", ECHO_PORT, True)
    # A TCP exchange is at least the handshake, the message, its echo and the close.
    assert tcp.packets is not None and tcp.packets >= 6
    assert tcp.bytes is not None and tcp.bytes > 0
    assert (udp.active, udp.packets, udp.bytes) == (True, 0, 0)
    assert forwarder.state().table_installed is True


def test_the_table_follows_a_pod_that_comes_back_with_a_new_address(
    lab: Lab, pods: Pods, forwarder: Forwarder
):
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")
    forwarder.start((TCP, UDP))
    assert wait_for(lambda: lab.ask("tcp", 8080, "a") == "pod1:a", timeout=10) is not None

    # The Pod is recreated elsewhere, as a Deployment does it: the old one goes first.
    lab.remove_pod("pod1")
    lab.add_pod("pod2", "172.31.242.11")
    pods.run("echo-2", "172.31.242.11")
    moved = time.monotonic()
    forwarder.pods_changed()

    assert (
        wait_for(
            lambda: "172.31.242.11" in lab.nft("list", "table", "ip", "k3s_netconf"),
            timeout=FOLLOW_SECONDS,
            interval=0.02,
        )
        is not None
    )
    assert time.monotonic() - moved < FOLLOW_SECONDS
    assert lab.ask("tcp", 8080, "b") == "pod2:b"
    assert lab.ask("udp", 5353, "b") == "pod2:b"


def test_a_removed_rule_no_longer_forwards(lab: Lab, pods: Pods, forwarder: Forwarder):
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")
    forwarder.install((TCP, UDP))
    assert lab.ask("tcp", 8080, "x") == "pod1:x"

    forwarder.install((UDP,))
    assert lab.ask("tcp", 8080, "x") is None
    assert lab.ask("udp", 5353, "x") == "pod1:x"

    forwarder.install(())
    assert lab.ask("udp", 5353, "x") is None
    assert "k3s_netconf" not in lab.nft("list", "tables")


def test_a_rule_whose_app_has_no_pod_is_installed_inactive_until_one_runs(
    lab: Lab, pods: Pods, forwarder: Forwarder
):
    forwarder.start(())
    forwarder.install((TCP,))
    time.sleep(1.1)
    assert forwarder.rule_states()[("tcp", 8080)].active is False
    assert "dnat" not in lab.nft("list", "table", "ip", "k3s_netconf")

    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")
    forwarder.pods_changed()
    assert wait_for(lambda: lab.ask("tcp", 8080, "up") == "pod1:up", timeout=10) is not None


def test_counts_survive_a_replacement_of_the_table(lab: Lab, pods: Pods, forwarder: Forwarder):
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")
    forwarder.install((TCP,))
    assert lab.ask("tcp", 8080, "one") == "pod1:one"
    time.sleep(1.1)
    assert wait_for(lambda: _tcp_packets(forwarder) >= 6, timeout=5) is not None
    before = _tcp_packets(forwarder)

    forwarder.install((TCP, UDP))

    # The new table carries the count, and is listed as it is installed, so get shows it.
    assert f"packets {before} " in lab.nft("list", "table", "ip", "k3s_netconf")
    assert _tcp_packets(forwarder) == before


def test_tables_of_others_in_the_namespace_are_left_as_they_were(
    lab: Lab, pods: Pods, forwarder: Forwarder
):
    lab.nft("add", "table", "inet", "theirs")
    lab.nft(
        "add",
        "chain",
        "inet",
        "theirs",
        "input",
        "{ type filter hook input priority 10; policy accept; }",
    )
    lab.nft("add", "rule", "inet", "theirs", "input", "tcp", "dport", "22", "counter")
    before = lab.nft("list", "table", "inet", "theirs")
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")

    forwarder.install((TCP,))
    forwarder.install(())

    assert lab.nft("list", "table", "inet", "theirs") == before


def test_check_only_settings_report_the_missing_veth_and_create_nothing(lab: Lab, pods: Pods):
    forwarder = Forwarder(settings(lab, create_missing=False), pods, current=lambda: True)
    forwarder.install((TCP,))

    problems = forwarder.state().problems
    assert f"the veth 'fib1veth' is missing in network namespace {lab.management!r}" in problems
    assert f"the veth 'fib0veth' is missing in network namespace {lab.cluster!r}" in problems
    assert "IPv4 forwarding is off on the management interface 'mg0'" in problems
    assert "fib0veth" not in lab.links(lab.cluster)


def test_links_made_by_someone_else_pass_the_check(lab: Lab, pods: Pods):
    lab.connect()
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")
    forwarder = Forwarder(settings(lab, create_missing=False), pods, current=lambda: True)

    forwarder.install((TCP,))

    assert forwarder.state().problems == ()
    assert lab.ask("tcp", 8080, "theirs") == "pod1:theirs"


def test_without_rules_the_links_are_surveyed_only_once_a_rule_comes(lab: Lab, pods: Pods):
    lab.connect()
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")
    forwarder = Forwarder(settings(lab, create_missing=False), pods, current=lambda: True)

    forwarder.install(())
    assert forwarder.state().problems == (links.UNSURVEYED,)
    assert forwarder.state().management_address is None

    forwarder.install((TCP,))
    assert forwarder.state().problems == ()
    assert forwarder.state().management_address == MANAGEMENT_ADDRESS
    assert lab.ask("tcp", 8080, "surveyed") == "pod1:surveyed"

    forwarder.install(())
    assert forwarder.state().problems == (links.UNSURVEYED,)
    assert "k3s_netconf" not in lab.nft("list", "tables")


def test_without_the_namespace_a_table_with_rules_fails_clearly_and_none_succeeds(
    lab: Lab, pods: Pods
):
    absent = f"{lab.management}-absent"
    forwarder = Forwarder(settings(lab, management_namespace=absent), pods, current=lambda: True)

    with pytest.raises(errors.OperationFailed) as e:
        forwarder.install((TCP,))
    assert e.value.message == (
        f"cannot install the port forwarding table: network namespace {absent!r} "
        "(management_namespace) does not exist"
    )
    assert e.value.path == "/ka:port-forwarding"

    forwarder.install(())
    assert forwarder.state().table_installed is False
    assert forwarder.rule_states() == {}


def test_a_refused_install_leaves_the_forwarder_following_the_rules_it_had(lab: Lab, pods: Pods):
    absent = f"{lab.management}-absent"
    forwarder = Forwarder(settings(lab, management_namespace=absent), pods, current=lambda: True)
    forwarder.install(())

    with pytest.raises(errors.OperationFailed):
        forwarder.install((TCP,))

    # Nothing else undoes the step that failed: the refused rule must not be retried later.
    assert forwarder.rule_states() == {}
    assert forwarder.state().problems == (
        f"network namespace {absent!r} (management_namespace) does not exist",
    )


def test_in_one_namespace_without_a_veth_pods_without_a_default_route_still_answer(
    lab: Lab, pods: Pods
):
    # A plain host: the management interface and the Pods' bridge side by side; the Pods
    # know only their own subnet, so only the masquerade brings their answers back.
    lab.share_namespace()
    lab.add_pod("pod1", "172.31.242.10")
    pods.run("echo-1", "172.31.242.10")
    alone = settings(lab, cluster_namespace=lab.management, management_veth="", cluster_veth="")
    forwarder = Forwarder(alone, pods, current=lambda: True)

    forwarder.install((TCP, UDP))

    assert forwarder.state().problems == ()
    assert lab.ask("tcp", 8080, "plain") == "pod1:plain"
    assert lab.ask("udp", 5353, "plain") == "pod1:plain"


def _tcp_packets(forwarder: Forwarder) -> int:
    return forwarder.rule_states()[("tcp", 8080)].packets or 0
