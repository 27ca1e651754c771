"""Resource use, health, admission and logs of apps, end to end on the local cluster.

The daemon samples CPU and memory use in the background (every second here); busybox Pods
burn CPU or hold memory, and get and the Prometheus endpoint must show it.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable

import pytest
from e2e_support import KA, Device, app_xml, image_xml, rpc
from lxml import etree
from ncclient.operations import RPCError
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.cluster

DAEMON_SETTINGS = {
    "metrics": {"enabled": True, "port": 0},
    "resources": {"usage_interval": 1.0},
    "log": {"format": "json"},
}

# The kubelet refreshes its figures every 10-15 s.
USAGE_TIMEOUT = 90.0
POLL_SECONDS = 1.0
MIB = 2**20

BURN = (
    "<command>sh</command><args>-c</args><args>while :; do :; done</args>"
    "<resources><cpu-limit>200</cpu-limit></resources>"
    "<termination-grace-period>1</termination-grace-period>"
)
# 48 MiB written to the Pod's /dev/shm, a tmpfs charged to the container's memory.
HOLD = (
    "<command>sh</command><args>-c</args>"
    "<args>head -c 50331648 /dev/zero > /dev/shm/fill; echo held; exec sleep 3600</args>"
    "<resources><memory-limit>268435456</memory-limit></resources>"
    "<termination-grace-period>1</termination-grace-period>"
)
# Asks for 64 MiB under a limit of 16 MiB.
OVERFLOW = (
    "<command>sh</command><args>-c</args>"
    "<args>x=$(head -c 67108864 /dev/zero | tr '\\000' a); sleep 3600</args>"
    "<resources><memory-limit>16777216</memory-limit></resources>"
    "<termination-grace-period>1</termination-grace-period>"
)


def ka(name: str) -> str:
    return f"{{{KA}}}{name}"


def app_state(device: Device, app: str) -> etree._Element | None:
    for entry in device.get().iterfind(f".//{ka('apps')}/{ka('app')}"):
        if entry.findtext(ka("name")) == app:
            return entry.find(ka("state"))
    return None


def wait_for(what: str, probe: Callable[[], object], timeout: float = USAGE_TIMEOUT):
    """The first value ``probe`` returns that is neither None nor False; fails after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None and value is not False:
            return value
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def metrics(device: Device) -> dict[tuple[str, str], float]:
    """The endpoint's per-app samples, by (metric name, app)."""
    found = re.search(
        r"Serving metrics for Prometheus on address=\S+ port=(\d+)\.", device.daemon.log()
    )
    assert found, "the daemon serves no metrics"
    url = f"http://127.0.0.1:{found.group(1)}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, sample.labels.get("app", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def usage_at_least(device: Device, app: str, leaf: str, least: int) -> etree._Element | None:
    """The app's state once its total ``leaf`` (cpu-usage, memory-usage) is at least ``least``."""
    state = app_state(device, app)
    total = state.findtext(ka(leaf)) if state is not None else None
    return state if total is not None and int(total) >= least else None


def app_metric_at_least(device: Device, name: str, app: str, least: float) -> dict | None:
    figures = metrics(device)
    return figures if figures.get((name, app), 0) >= least else None


def test_a_pod_that_burns_cpu_shows_it_in_get_and_in_the_metrics_endpoint(device: Device):
    device.edit(image_xml() + app_xml("burn", BURN))

    # Limited to 200 millicores: well above an idle Pod, never above the limit by much.
    state = wait_for(
        "get showing the burner's CPU", lambda: usage_at_least(device, "burn", "cpu-usage", 100)
    )
    (pod,) = state.iterfind(ka("pod"))
    assert pod.findtext(ka("cpu-usage")) == state.findtext(ka("cpu-usage"))
    assert int(state.findtext(ka("cpu-usage"))) <= 260

    figures = wait_for(
        "the endpoint showing the burner's CPU",
        lambda: app_metric_at_least(device, "k3s_netconf_app_cpu_millicores", "burn", 100),
    )
    assert figures[("k3s_netconf_app_pod_restarts", "burn")] == 0

    node = device.get().find(f".//{ka('node')}/{ka('in-use')}")
    assert int(node.findtext(ka("cpu"))) >= 100
    assert int(node.findtext(ka("memory"))) > 0


def test_a_pod_that_allocates_memory_shows_it_in_get_and_in_the_metrics_endpoint(device: Device):
    device.edit(image_xml() + app_xml("hold", HOLD))

    state = wait_for(
        "get showing the memory held",
        lambda: usage_at_least(device, "hold", "memory-usage", 40 * MIB),
    )
    (pod,) = state.iterfind(ka("pod"))
    assert int(pod.findtext(ka("memory-usage"))) < 256 * MIB

    figures = wait_for(
        "the endpoint showing the memory held",
        lambda: app_metric_at_least(device, "k3s_netconf_app_memory_bytes", "hold", 40 * MIB),
    )
    assert figures[("k3s_netconf_app_memory_bytes", "hold")] < 256 * MIB


def test_a_container_past_its_memory_limit_shows_oomkilled(device: Device):
    device.edit(image_xml() + app_xml("overflow", OVERFLOW))

    def oom_killed(pod: etree._Element) -> bool:
        reasons = {
            pod.findtext(f"{ka('last-termination')}/{ka('reason')}"),
            pod.findtext(f"{ka('container')}/{ka('reason')}"),
        }
        return "OOMKilled" in reasons

    pod = device.wait_for_pod("overflow", oom_killed)
    assert pod.findtext(f"{ka('last-termination')}/{ka('exit-code')}") in ("137", None)


def test_a_commit_asking_more_than_the_node_can_spare_is_refused_and_nothing_is_applied(
    device: Device,
):
    path = f".//{ka('node')}/{ka('allocatable')}/{ka('cpu')}"
    allocatable = int(wait_for("the node's allocatable", lambda: device.get().findtext(path)))
    # The default reserve is 500 millicores.
    asked = allocatable - 500 + 1
    greedy = f"<resources><cpu-request>{asked}</cpu-request></resources>"

    with pytest.raises(RPCError) as refused:
        device.edit(image_xml() + app_xml("greedy", greedy))

    assert refused.value.tag == "resource-denied"
    assert refused.value.path.strip().endswith("ka:app[ka:name='greedy']")
    assert f"request {asked} millicores of CPU" in refused.value.message
    assert f"can spare {allocatable - 500} millicores" in refused.value.message
    assert "500 reserved for the network OS" in refused.value.message
    assert device.deployments() == set()
    assert device.get_config().find(f".//{ka('app')}") is None
    # Refused before the first step: not even the image was imported.
    assert "Imported image" not in device.daemon.log()


def test_the_logs_action_returns_the_last_lines_asked_for(device: Device):
    count = "<command>sh</command><args>-c</args><args>seq 1 50; exec sleep 3600</args>"
    device.edit(image_xml() + app_xml("count", count))
    device.wait_for_pod("count", lambda p: p.findtext(ka("phase")) == "Running")

    action = (
        f'<action xmlns="urn:ietf:params:xml:ns:yang:1"><apps xmlns="{KA}"><app>'
        "<name>count</name><logs><lines>3</lines></logs></app></apps></action>"
    )

    def log_text() -> str | None:
        text = rpc(device.manager, action).findtext(f".//{ka('text')}") or ""
        return text if "50" in text.split() else None

    assert wait_for("the log reaching line 50", log_text).split() == ["48", "49", "50"]


def test_a_failing_readiness_probe_shows_in_the_apps_health_with_its_events(device: Device):
    unready = (
        "<command>sleep</command><args>3600</args>"
        "<readiness-probe><exec-command>false</exec-command><period>1</period></readiness-probe>"
        "<termination-grace-period>1</termination-grace-period>"
    )
    device.edit(image_xml() + app_xml("unready", unready))

    def probe_failed() -> etree._Element | None:
        state = app_state(device, "unready")
        health = state.find(ka("health")) if state is not None else None
        if health is not None and health.findtext(ka("last-probe-failure")):
            return health
        return None

    health = wait_for("the probe failure in get", probe_failed, timeout=60)
    assert health.findtext(ka("readiness")) == "failing"
    assert health.findtext(ka("liveness")) == "none"
    assert "Readiness probe failed" in health.findtext(ka("last-probe-failure"))
    reasons = {e.findtext(ka("reason")) for e in health.iterfind(ka("event"))}
    assert "Unhealthy" in reasons
    unhealthy = next(
        e for e in health.iterfind(ka("event")) if e.findtext(ka("reason")) == "Unhealthy"
    )
    assert unhealthy.findtext(ka("pod")).startswith("unready-")
    assert int(unhealthy.findtext(ka("count"))) >= 1
    assert unhealthy.findtext(ka("last-seen"))


def test_every_change_to_the_cluster_is_logged_at_info_with_the_app_and_the_session(
    device: Device,
):
    session_id = int(device.manager.session_id)
    device.edit(image_xml() + app_xml("noted", "<enabled>false</enabled>"))

    entries = [
        json.loads(line) for line in device.daemon.log().splitlines() if line.startswith("{")
    ]
    changes = [
        e for e in entries if e["message"].startswith(("Applied the Deployment", "Imported image"))
    ]
    assert {e["message"].split()[0] for e in changes} == {"Applied", "Imported"}
    for entry in changes:
        assert entry["level"] == "INFO"
        assert entry["session_id"] == session_id
    applied = next(e for e in changes if e["message"].startswith("Applied"))
    assert "'noted'" in applied["message"]
