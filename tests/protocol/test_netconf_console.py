"""netconf-console2, the operators' command-line client, against the real daemon.

Each test runs the ``netconf-console2`` program as a shell user would, from the environment
the tests run in, and reads what it prints.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

pytestmark = pytest.mark.protocol

KA = "urn:k3s-netconf:yang:apps"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_console(daemon, *arguments: str) -> subprocess.CompletedProcess[str]:
    program = Path(sys.executable).parent / "netconf-console2"
    return subprocess.run(
        [
            str(program),
            "--host",
            daemon.host,
            "--port",
            str(daemon.port),
            "-u",
            daemon.user,
            "-p",
            daemon.password,
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def console(daemon, *arguments: str) -> str:
    done = run_console(daemon, *arguments)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_hello_lists_the_model_and_the_capabilities(netconf_daemon):
    printed = console(netconf_daemon, "--hello")

    assert "urn:ietf:params:netconf:base:1.1" in printed
    assert "module=k3s-netconf-apps" in printed
    assert "urn:ietf:params:netconf:capability:candidate:1.0" in printed


def edit_candidate_with_the_examples(daemon) -> None:
    """The README's example image and app, edited into the candidate from their files."""
    console(
        daemon,
        "--db",
        "candidate",
        "--edit-config",
        str(EXAMPLES / "web-image.xml"),
        str(EXAMPLES / "web-app.xml"),
    )


def test_an_edit_from_files_reaches_the_candidate_and_a_filtered_get_config_reads_it(
    start_daemon,
):
    daemon = start_daemon()

    edit_candidate_with_the_examples(daemon)
    printed = console(
        daemon,
        "--db",
        "candidate",
        "--ns",
        f"ka={KA}",
        "--get-config",
        "--filter",
        "/ka:apps/ka:app[ka:name='web']/ka:env",
    )

    data = etree.fromstring(printed.encode())
    env = [
        (e.findtext(f"{{{KA}}}name"), e.findtext(f"{{{KA}}}value"))
        for e in data.iterfind(f".//{{{KA}}}env")
    ]
    assert env == [("GREETING", "hello"), ("MODE", "demo")]
    assert data.find(f".//{{{KA}}}image") is None


def test_a_refused_edit_prints_the_rpc_error(netconf_daemon, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text(
        f'<apps xmlns="{KA}"><app><name>Web</name>'
        "<image>docker.io/library/busybox:1.36</image></app></apps>"
    )

    done = run_console(netconf_daemon, "--db", "candidate", "--edit-config", str(bad))

    assert done.returncode != 0
    printed = done.stdout
    assert "<nc:error-tag>invalid-value</nc:error-tag>" in printed
    assert "/ka:apps/ka:app[ka:name='Web']/ka:name" in printed


def test_an_xpath_get_config_selects_the_leaves_with_their_entries_keys(start_daemon):
    daemon = start_daemon()
    edit_candidate_with_the_examples(daemon)

    printed = console(
        daemon, "--db", "candidate", "--ns", f"ka={KA}", "--get-config", "/ka:apps/ka:app/ka:image"
    )

    data = etree.fromstring(printed.encode())
    (app,) = data.iterfind(f".//{{{KA}}}app")
    assert [etree.QName(c).localname for c in app] == ["name", "image"]
    assert app.findtext(f"{{{KA}}}name") == "web"


def test_a_get_config_with_defaults_report_all_tagged_prints_the_tagged_defaults(start_daemon):
    daemon = start_daemon()
    edit_candidate_with_the_examples(daemon)

    printed = console(
        daemon,
        "--db",
        "candidate",
        "--with-defaults",
        "report-all-tagged",
        "--ns",
        f"ka={KA}",
        "--get-config",
        "/ka:apps/ka:app/ka:enabled | /ka:apps/ka:app/ka:termination-grace-period",
    )

    app = etree.fromstring(printed.encode()).find(f".//{{{KA}}}app")
    tagged = "{urn:ietf:params:xml:ns:netconf:default:1.0}default"
    assert app.findtext(f"{{{KA}}}enabled") == "true"
    assert app.find(f"{{{KA}}}enabled").get(tagged) == "true"
    # Set to 5 by the example, not its default of 30: reported, not tagged.
    assert app.findtext(f"{{{KA}}}termination-grace-period") == "5"
    assert app.find(f"{{{KA}}}termination-grace-period").get(tagged) is None


def test_get_with_a_filter_prints_only_the_selected_state(netconf_daemon):
    printed = console(
        netconf_daemon, "--ns", f"ka={KA}", "--get", "--filter", "/ka:port-forwarding/ka:state"
    )

    data = etree.fromstring(printed.encode())
    (forwarding,) = data
    assert forwarding.tag == f"{{{KA}}}port-forwarding"
    assert [child.tag for child in forwarding] == [f"{{{KA}}}state"]
    # No management namespace here: the table is not installed, and get says why.
    assert forwarding.findtext(f"{{{KA}}}state/{{{KA}}}table-installed") == "false"
    assert "management_namespace" in forwarding.findtext(f"{{{KA}}}state/{{{KA}}}problem")
