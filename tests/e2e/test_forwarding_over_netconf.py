"""Port forwarding end to end: a rule edited over NETCONF, the daemon's table, real TCP to a Pod.

The local cluster's Pods have a route to their own subnet only (nothing leaves the machine),
so the test's management namespace joins the cluster's bridge as one more port, with an
address at the top of the Pod CIDR, far from where the cluster's address allocator counts
from: the Pods answer it directly. On a K3s device the management namespace reaches the Pods
over a routed veth pair instead, which the network tier covers; the daemon's code is the same.
A client namespace of the test's own talks to the management address. Only the bridge port
is added to the machine's own namespace, and it goes when the test ends.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from e2e_support import IMAGE, KA, Device, app_xml, image_xml, rpc
from lxml import etree
from ncclient.operations import RPCError
from network.topology import ask, ip, wait_for

pytestmark = pytest.mark.cluster

# As tools/cluster/lib.sh sets them unless told otherwise.
BRIDGE = os.environ.get("CLUSTER_BRIDGE", "k3snc0")
POD_CIDR = os.environ.get("CLUSTER_POD_CIDR", "10.88.0.0/16")
MANAGEMENT_ADDRESS = "172.31.240.1"
EXTERNAL_PORT = 8080
# The table must follow a recreated Pod within this many seconds of get showing it ready.
FOLLOW_SECONDS = 1.0

# busybox's nc runs "hostname; cat" for each connection: an echo that names its Pod.
ECHO_ARGS = ("-ll", "-p", "7007", "-e", "sh", "-c", "hostname; cat")
ECHO_APP = (
    "<command>nc</command>"
    + "".join(f"<args>{a}</args>" for a in ECHO_ARGS)
    + "<port><name>echo</name><container-port>7007</container-port></port>"
    + "<termination-grace-period>1</termination-grace-period>"
)
RULE = (
    f'<port-forwarding xmlns="{KA}"><rule><protocol>tcp</protocol>'
    f"<external-port>{EXTERNAL_PORT}</external-port><app>echo</app><port>echo</port></rule>"
    "</port-forwarding>"
)


@dataclass
class Management:
    namespace: str
    client: str
    bridge_port: str
    address: str  # the management end's address on the Pod network

    def settings(self) -> dict[str, object]:
        return {
            "management_namespace": self.namespace,
            "management_interface": "mg0",
            "cluster_namespace": "",
            "management_veth": "fib1veth",
            "cluster_veth": self.bridge_port,
            "management_veth_address": self.address,
            "cluster_veth_address": "",
            "pod_cidr": POD_CIDR,
        }

    def table(self) -> str:
        return ip(f"netns exec {self.namespace} nft list table ip k3s_netconf")

    def ask(self, message: str) -> str | None:
        return ask(self.client, "tcp", MANAGEMENT_ADDRESS, EXTERNAL_PORT, message)


@pytest.fixture
def management(device: Device) -> Iterator[Management]:
    suffix = secrets.token_hex(3)
    pods = ipaddress.IPv4Network(POD_CIDR)
    made = Management(
        f"k3nc-e2em-{suffix}",
        f"k3nc-e2ec-{suffix}",
        f"k3ncb-{suffix}",
        f"{pods.broadcast_address - 5}/{pods.prefixlen}",
    )
    taken = {p.status.pod_ip for p in device.core_api.list_pod_for_all_namespaces().items}
    assert made.address.split("/")[0] not in taken
    ip(f"link show {BRIDGE}")

    namespaces = []
    try:
        for namespace in (made.namespace, made.client):
            ip(f"netns add {namespace}")
            namespaces.append(namespace)
        _wire(made)
        yield made
    finally:
        subprocess.run(["ip", "link", "del", made.bridge_port], capture_output=True, check=False)
        for namespace in namespaces:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


def _wire(made: Management) -> None:
    client, management = made.client, made.namespace
    ip(f"-n {client} link add cl0 type veth peer name mg0 netns {management}")
    ip(f"-n {client} addr add 172.31.240.2/24 dev cl0")
    ip(f"-n {management} addr add {MANAGEMENT_ADDRESS}/24 dev mg0")

    ip(f"link add {made.bridge_port} type veth peer name fib1veth netns {management}")
    ip(f"link set {made.bridge_port} master {BRIDGE} up")
    ip(f"-n {management} addr add {made.address} dev fib1veth")

    for namespace, link in ((client, "lo"), (client, "cl0"), (management, "lo")):
        ip(f"-n {namespace} link set {link} up")
    for link in ("mg0", "fib1veth"):
        ip(f"-n {management} link set {link} up")
        ip(f"netns exec {management} sysctl -q -w net/ipv4/conf/{link}/forwarding=1")


def test_a_client_reaches_the_pod_through_the_rule_and_follows_it_to_a_new_pod(
    device: Device, management: Management, record_timing: Callable[[str, float], None]
):
    device.sections["network"] = management.settings()
    device.restart()
    device.edit(image_xml() + app_xml("echo", ECHO_APP) + RULE)

    first = device.wait_for_pod("echo", _serving)
    name, address = first.findtext(f"{{{KA}}}name"), first.findtext(f"{{{KA}}}pod-ip")
    assert wait_for(lambda: management.ask("hello") == f"{name}\nhello", timeout=10) is not None

    state = _forwarding(device)
    assert state.findtext(f"{{{KA}}}state/{{{KA}}}management-address") == MANAGEMENT_ADDRESS
    assert state.findtext(f"{{{KA}}}state/{{{KA}}}table-installed") == "true"
    assert state.findall(f"{{{KA}}}state/{{{KA}}}problem") == []
    rule = state.find(f"{{{KA}}}rule/{{{KA}}}state")
    assert rule.findtext(f"{{{KA}}}target-address") == address
    assert rule.findtext(f"{{{KA}}}target-port") == "7007"
    assert rule.findtext(f"{{{KA}}}active") == "true"
    assert wait_for(lambda: _packets(device) > 0, timeout=5) is not None

    rpc(device.manager, _restart("echo"))
    second = device.wait_for_pod(
        "echo", lambda p: _serving(p) and p.findtext(f"{{{KA}}}name") != name
    )
    new_name, new_address = second.findtext(f"{{{KA}}}name"), second.findtext(f"{{{KA}}}pod-ip")
    assert new_address != address
    took = wait_for(lambda: f"dnat to {new_address}:" in management.table(), FOLLOW_SECONDS, 0.02)
    assert took is not None, management.table()
    record_timing("forwarding: new Pod ready in get to the table pointing at it", took)
    assert management.ask("again") == f"{new_name}\nagain"

    device.edit(
        f'<port-forwarding xmlns="{KA}"><rule nc:operation="delete"><protocol>tcp</protocol>'
        f"<external-port>{EXTERNAL_PORT}</external-port></rule></port-forwarding>"
    )
    assert management.ask("gone") is None


def test_a_commit_whose_table_cannot_be_installed_is_undone(device: Device):
    absent = f"k3nc-absent-{secrets.token_hex(3)}"
    device.sections["network"] = {"management_namespace": absent}
    device.restart()

    with pytest.raises(RPCError) as e:
        device.edit(image_xml() + app_xml("echo", ECHO_APP) + RULE)

    assert e.value.tag == "operation-failed"
    assert e.value.message == (
        f"cannot install the port forwarding table: network namespace {absent!r} "
        "(management_namespace) does not exist"
    )
    assert e.value.path == "/ka:port-forwarding"
    assert device.deployments() == set()
    assert IMAGE not in device.images()
    assert device.get_config().find(f".//{{{KA}}}rule") is None


def _serving(pod: etree._Element) -> bool:
    return (
        pod.findtext(f"{{{KA}}}phase") == "Running"
        and pod.findtext(f"{{{KA}}}ready") == "true"
        and bool(pod.findtext(f"{{{KA}}}pod-ip"))
    )


def _forwarding(device: Device) -> etree._Element:
    return device.get().find(f"{{{KA}}}port-forwarding")


def _packets(device: Device) -> int:
    return int(_forwarding(device).findtext(f"{{{KA}}}rule/{{{KA}}}state/{{{KA}}}packets") or 0)


def _restart(app: str) -> str:
    return (
        f'<action xmlns="urn:ietf:params:xml:ns:yang:1"><apps xmlns="{KA}"><app>'
        f"<name>{app}</name><restart/></app></apps></action>"
    )
