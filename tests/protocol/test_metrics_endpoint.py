"""The Prometheus endpoint of the real daemon: off by default, counting what clients do."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from protocol import connecting

pytestmark = pytest.mark.protocol

SERVING = re.compile(r"Serving metrics for Prometheus on address=127\.0\.0\.1 port=(\d+)\.")


def metrics_port(daemon, within: float = 10.0) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = SERVING.search(daemon.log())
        if found:
            return int(found.group(1))
        time.sleep(0.05)
    raise AssertionError(f"the daemon did not start its metrics endpoint: {daemon.log()}")


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_endpoint_is_off_by_default(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        client.rpc("<get-config><source><running/></source></get-config>")
    assert "Serving metrics" not in netconf_daemon.log()


def test_the_endpoint_counts_rpcs_by_operation_and_result_and_open_sessions(start_daemon):
    daemon = start_daemon(metrics={"enabled": True, "port": 0})
    port = metrics_port(daemon)

    with connecting.hello(daemon) as client:
        client.rpc("<get-config><source><running/></source></get-config>")
        client.rpc("<get-config><source><running/></source></get-config>")
        client.rpc("<lock><target><candidate/></target></lock>")
        client.rpc("<lock><target><nowhere/></target></lock>")
        during = scrape(port)

    assert during[("k3s_netconf_rpcs_total", (("operation", "get-config"), ("result", "ok")))] == 2
    assert during[("k3s_netconf_rpcs_total", (("operation", "lock"), ("result", "ok")))] == 1
    failed = [
        value
        for (name, labels), value in during.items()
        if name == "k3s_netconf_rpcs_total"
        and ("operation", "lock") in labels
        and ("result", "ok") not in labels
    ]
    assert failed == [1]
    assert during[("k3s_netconf_sessions", ())] == 1
    count = ("k3s_netconf_rpc_duration_seconds_count", (("operation", "get-config"),))
    assert during[count] == 2


def test_the_sessions_gauge_falls_when_a_session_ends(start_daemon):
    daemon = start_daemon(metrics={"enabled": True, "port": 0})
    port = metrics_port(daemon)

    with connecting.hello(daemon) as client:
        client.rpc("<get-config><source><running/></source></get-config>")
        client.rpc("<close-session/>")
        client.closed_by_server(within=5)

    deadline, figures = time.monotonic() + 10, {}
    while time.monotonic() < deadline:
        figures = scrape(port)
        if figures.get(("k3s_netconf_sessions_ended_total", ())) == 1:
            break
        time.sleep(0.1)
    assert figures[("k3s_netconf_sessions_ended_total", ())] == 1
    assert figures[("k3s_netconf_sessions", ())] == 0


def test_the_endpoint_counts_commits_by_result(start_daemon):
    daemon = start_daemon(metrics={"enabled": True, "port": 0})
    port = metrics_port(daemon)

    # Without a cluster, an edit that changes nothing commits; one that adds an image fails.
    image = (
        '<images xmlns="urn:k3s-netconf:yang:apps"><image><name>busybox:1</name>'
        "<archive>missing.tar</archive></image></images>"
    )
    with connecting.hello(daemon) as client:
        client.rpc(edit("<apps xmlns='urn:k3s-netconf:yang:apps'/>"))
        client.rpc(edit(image))
        figures = scrape(port)

    assert figures[("k3s_netconf_commits_total", (("result", "ok"),))] == 1
    failed = {
        labels: value
        for (name, labels), value in figures.items()
        if name == "k3s_netconf_commits_total" and labels != (("result", "ok"),)
    }
    assert list(failed.values()) == [1]


def edit(config: str) -> str:
    return (
        "<edit-config><target><running/></target>"
        f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{config}</config></edit-config>'
    )
