"""Network namespaces for the network tier, laid out as on the device, on private addresses.

    client ──cl0/mg0── management ──fib1veth/fib0veth── cluster (bridge br0) ── Pod namespaces
    172.31.240.2/24    172.31.240.1   172.31.241.1/.2        172.31.242.1/24      172.31.242.x

Every name carries a random suffix, so runs never meet. No namespace has a route that leaves
the lab: the client and the management namespace know only their own subnets (and the
route to the Pods that the plugin adds), the cluster namespace only its links, and a Pod's
default route points at the cluster bridge, as with K3s's flannel (``share_namespace`` puts
the bridge in the management namespace instead, as on a plain host). Echo servers run as
processes inside the Pod namespaces and are stopped by their pid; ``close`` deletes every
namespace the lab made.
"""

from __future__ import annotations

import secrets
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ECHO = Path(__file__).with_name("echo.py")
ECHO_PORT = 7007
MANAGEMENT_ADDRESS = "172.31.240.1"
CLIENT_ADDRESS = "172.31.240.2/24"
MANAGEMENT_VETH_ADDRESS = "172.31.241.1/30"
CLUSTER_VETH_ADDRESS = "172.31.241.2/30"
POD_CIDR = "172.31.242.0/24"
BRIDGE_ADDRESS = "172.31.242.1/24"

# Seconds a command, a server start and a probe may take at most.
COMMAND_TIMEOUT = 10.0
SERVER_START_TIMEOUT = 10.0
PROBE_TIMEOUT = 10.0


def run(*argv: str) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


def ip(command: str) -> str:
    """``ip`` with its arguments written as on a command line (none of them has a blank)."""
    return run("ip", *command.split())


@dataclass
class Lab:
    folder: Path
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    namespaces: list[str] = field(default_factory=list)
    servers: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    # The cluster's bridge, and the default route of the Pods that hang on it.
    bridge_namespace: str = ""
    pods_route_out: bool = True

    @property
    def client(self) -> str:
        return f"k3nc-cli-{self.suffix}"

    @property
    def management(self) -> str:
        return f"k3nc-mgm-{self.suffix}"

    @property
    def cluster(self) -> str:
        return f"k3nc-clu-{self.suffix}"

    def pod_namespace(self, name: str) -> str:
        return f"k3nc-{name}-{self.suffix}"

    def build(self) -> None:
        for namespace in (self.client, self.management, self.cluster):
            self._namespace(namespace)

        ip(f"-n {self.client} link add cl0 type veth peer name mg0 netns {self.management}")
        self._address(self.client, "cl0", CLIENT_ADDRESS)
        self._address(self.management, "mg0", f"{MANAGEMENT_ADDRESS}/24")

        self._bridge(self.cluster)
        # What K3s does in its namespace: it routes between its bridge and the rest.
        self.sysctl(self.cluster, "net/ipv4/conf/br0/forwarding=1")

    def share_namespace(self) -> None:
        """Move the Pods' bridge into the management namespace, as on a plain host, and give
        the Pods no default route, as the local test cluster does."""
        ip(f"-n {self.cluster} link del br0")
        self._bridge(self.management)
        self.pods_route_out = False

    def connect(self) -> None:
        """The veth pair and route that the plugin would otherwise create."""
        ip(
            f"-n {self.management} link add fib1veth type veth peer name fib0veth netns "
            f"{self.cluster}"
        )
        self._address(self.management, "fib1veth", MANAGEMENT_VETH_ADDRESS)
        self._address(self.cluster, "fib0veth", CLUSTER_VETH_ADDRESS)
        gateway = CLUSTER_VETH_ADDRESS.split("/")[0]
        ip(f"-n {self.management} route add {POD_CIDR} via {gateway}")

        forwarding = [
            (self.management, "mg0"),
            (self.management, "fib1veth"),
            (self.cluster, "fib0veth"),
        ]
        for namespace, link in forwarding:
            self.sysctl(namespace, f"net/ipv4/conf/{link}/forwarding=1")

    def add_pod(self, name: str, address: str) -> None:
        """A "Pod": a namespace on the cluster bridge running the echo service."""
        namespace = self.pod_namespace(name)
        self._namespace(namespace)
        bridge = self.bridge_namespace
        ip(f"-n {bridge} link add v-{name} type veth peer name eth0 netns {namespace}")
        ip(f"-n {bridge} link set v-{name} master br0 up")
        self._address(namespace, "eth0", f"{address}/24")
        if self.pods_route_out:
            ip(f"-n {namespace} route add default via {BRIDGE_ADDRESS.split('/')[0]}")
        self._serve(name, namespace)

    def remove_pod(self, name: str) -> None:
        self._stop(name)
        self._delete(self.pod_namespace(name))

    def ask(self, protocol: str, port: int, message: str) -> str | None:
        """The echo's answer through the management address, or None when none came."""
        return ask(self.client, protocol, MANAGEMENT_ADDRESS, port, message)

    def nft(self, *args: str) -> str:
        return run("ip", "netns", "exec", self.management, "nft", *args)

    def sysctl(self, namespace: str, assignment: str) -> None:
        run("ip", "netns", "exec", namespace, "sysctl", "-q", "-w", assignment)

    def links(self, namespace: str) -> str:
        return ip(f"-n {namespace} -br link")

    def close(self) -> None:
        for name in list(self.servers):
            self._stop(name)
        for namespace in reversed(self.namespaces):
            self._delete(namespace)

    def _namespace(self, namespace: str) -> None:
        ip(f"netns add {namespace}")
        self.namespaces.append(namespace)
        ip(f"-n {namespace} link set lo up")

    def _bridge(self, namespace: str) -> None:
        ip(f"-n {namespace} link add br0 type bridge")
        self._address(namespace, "br0", BRIDGE_ADDRESS)
        self.bridge_namespace = namespace

    def _address(self, namespace: str, link: str, address: str) -> None:
        ip(f"-n {namespace} addr add {address} dev {link}")
        ip(f"-n {namespace} link set {link} up")

    def _serve(self, name: str, namespace: str) -> None:
        log = (self.folder / f"echo-{name}.log").open("w")
        # ip netns exec replaces itself with the server: the pid is the server's.
        command = ["ip", "netns", "exec", namespace, sys.executable, str(ECHO), "serve", name]
        server = subprocess.Popen(
            [*command, str(ECHO_PORT)], stdout=subprocess.PIPE, stderr=log, text=True
        )
        self.servers[name] = server
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], SERVER_START_TIMEOUT)
        if not ready or server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the echo server of {name!r} did not start")

    def _stop(self, name: str) -> None:
        server = self.servers.pop(name)
        server.terminate()
        try:
            server.wait(COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(COMMAND_TIMEOUT)
        if server.stdout is not None:
            server.stdout.close()

    def _delete(self, namespace: str) -> None:
        if namespace in self.namespaces:
            self.namespaces.remove(namespace)
            subprocess.run(
                ["ip", "netns", "del", namespace],
                capture_output=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )


def ask(namespace: str, protocol: str, host: str, port: int, message: str) -> str | None:
    """The echo's answer to a client in ``namespace``, or None when none came."""
    command = [sys.executable, str(ECHO), "ask", protocol, host, str(port), message]
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, *command],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def wait_for(predicate, timeout: float, interval: float = 0.05) -> float | None:
    """Seconds until ``predicate()`` held, or None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None
