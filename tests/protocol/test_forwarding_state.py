"""Without the network it needs, the daemon still serves and says what is missing in get."""

from __future__ import annotations

import secrets
import time

import pytest
from lxml import etree

from protocol import connecting

pytestmark = pytest.mark.protocol

KA = "urn:k3s-netconf:yang:apps"
CHECK_TIMEOUT = 10.0


def test_get_reports_a_missing_management_namespace_as_a_problem(start_daemon):
    absent = f"k3nc-absent-{secrets.token_hex(3)}"
    daemon = start_daemon(network={"management_namespace": absent})
    manager = connecting.ncclient(daemon)
    try:
        deadline, problems = time.monotonic() + CHECK_TIMEOUT, []
        while time.monotonic() < deadline:
            state = etree.fromstring(manager.get().data_xml.encode()).find(
                f"{{{KA}}}port-forwarding/{{{KA}}}state"
            )
            problems = [p.text for p in state.iterfind(f"{{{KA}}}problem")]
            if "have not been checked" not in " ".join(problems):
                break
            time.sleep(0.1)
    finally:
        manager.close_session()

    assert problems == [f"network namespace {absent!r} (management_namespace) does not exist"]
    assert state.findtext(f"{{{KA}}}table-installed") == "false"
    assert state.find(f"{{{KA}}}management-address") is None
