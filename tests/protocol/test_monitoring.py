"""ietf-netconf-monitoring (RFC 6022) and the YANG library (RFC 8525), over SSH.

A client learns from the server itself which modules it speaks, downloads them with
get-schema and reads its sessions, locks and counters under /netconf-state.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from ncclient.operations import RPCError

from protocol import connecting
from protocol.rawclient import NC
from protocol.xmlcheck import the_error

pytestmark = pytest.mark.protocol

NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
YANGLIB = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
YANG_FOLDER = Path(__file__).resolve().parents[2] / "yang"
LIBRARY_CAPABILITY = "urn:ietf:params:netconf:capability:yang-library:1.1"
# How long a dropped connection may take to be noticed by the server.
DROP_WAIT = 10.0


def model_file() -> Path:
    return next(YANG_FOLDER.glob("k3s-netconf-apps@*.yang"))


def ncm(path: str) -> str:
    return "/".join(f"{{{NCM}}}{step}" for step in path.split("/"))


def lib(path: str) -> str:
    return "/".join(f"{{{YANGLIB}}}{step}" for step in path.split("/"))


def netconf_state(manager, part: str) -> etree._Element:
    """/netconf-state with only ``part`` selected, read with a subtree filter."""
    selection = f'<netconf-state xmlns="{NCM}"><{part}/></netconf-state>'
    state = manager.get(filter=("subtree", selection)).data_ele.find(ncm("netconf-state"))
    assert state is not None
    return state


def own_session(manager) -> etree._Element:
    state = netconf_state(manager, "sessions")
    for session in state.iterfind(ncm("sessions/session")):
        if session.findtext(ncm("session-id")) == str(manager.session_id):
            return session
    raise AssertionError(f"session {manager.session_id} is not listed")


def counters(element: etree._Element) -> dict[str, int]:
    names = ("in-rpcs", "in-bad-rpcs", "out-rpc-errors", "out-notifications")
    return {name: int(element.findtext(ncm(name))) for name in names}


def statistics(manager) -> etree._Element:
    return netconf_state(manager, "statistics").find(ncm("statistics"))


def module_capabilities(capabilities) -> dict[str, str]:
    """Module name -> revision, of each capability that names a module."""
    found = {}
    for uri in capabilities:
        query = parse_qs(urlsplit(uri).query)
        if "module" in query:
            found[query["module"][0]] = query["revision"][0]
    return found


def get_schema(client, parameters: str) -> etree._Element:
    return client.rpc(f'<get-schema xmlns="{NCM}">{parameters}</get-schema>')


# get-schema


def test_get_schema_returns_the_model_file_text(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as manager:
        text = manager.get_schema("k3s-netconf-apps").data

    assert text == model_file().read_text()


def test_every_downloaded_module_passes_pyang_with_only_the_downloads_at_hand(
    netconf_daemon, tmp_path
):
    with connecting.ncclient(netconf_daemon) as manager:
        modules = module_capabilities(manager.server_capabilities)
        for name, revision in modules.items():
            text = manager.get_schema(name, version=revision, format="yang").data
            (tmp_path / f"{name}@{revision}.yang").write_text(text)

    pyang = Path(sys.executable).parent / "pyang"
    model = next(tmp_path.glob("k3s-netconf-apps@*.yang"))
    done = subprocess.run(
        [str(pyang), "--strict", "-p", str(tmp_path), str(model)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert {"ietf-netconf-monitoring", "ietf-yang-library", "ietf-datastores"} <= set(modules)


def test_get_schema_of_an_unknown_module_is_invalid_value_and_the_session_goes_on(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        error = the_error(get_schema(client, "<identifier>no-such-module</identifier>"))
        after = client.rpc(
            f'<get-schema xmlns="{NCM}"><identifier>ietf-datastores</identifier></get-schema>'
        )

    assert error["tag"] == "invalid-value"
    assert "no-such-module" in error["message"]
    assert error["info"] == {"bad-element": "identifier"}
    assert "module ietf-datastores" in after.findtext(f"{{{NCM}}}data")


def test_get_schema_of_a_version_the_server_lacks_is_invalid_value_naming_the_one_it_has(
    netconf_daemon,
):
    with connecting.hello(netconf_daemon) as client:
        reply = get_schema(
            client, "<identifier>ietf-datastores</identifier><version>2001-01-01</version>"
        )

    error = the_error(reply)
    assert (error["tag"], error["info"]) == ("invalid-value", {"bad-element": "version"})
    assert "2018-02-14" in error["message"]


@pytest.mark.parametrize("format_", ["xsd", "rng", "other:yang"])
def test_get_schema_in_a_format_other_than_yang_is_invalid_value(netconf_daemon, format_):
    with connecting.hello(netconf_daemon) as client:
        reply = get_schema(
            client,
            f'<identifier>ietf-datastores</identifier><format xmlns:other="urn:other">{format_}'
            "</format>",
        )

    error = the_error(reply)
    assert (error["tag"], error["info"]) == ("invalid-value", {"bad-element": "format"})


def test_get_schema_accepts_the_yang_format_with_the_module_prefix(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        reply = get_schema(
            client,
            f'<identifier>ietf-datastores</identifier><format xmlns:ncm="{NCM}">ncm:yang</format>',
        )

    assert reply.findtext(f"{{{NCM}}}data").lstrip().startswith("module ietf-datastores")


def test_get_schema_without_an_identifier_is_missing_element(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        error = the_error(get_schema(client, ""))

    assert (error["tag"], error["info"]) == ("missing-element", {"bad-element": "identifier"})


def test_get_schema_with_an_unknown_parameter_is_unknown_element(netconf_daemon):
    with connecting.hello(netconf_daemon) as client:
        reply = get_schema(client, "<identifier>ietf-datastores</identifier><depth>2</depth>")

    error = the_error(reply)
    assert (error["tag"], error["info"]) == ("unknown-element", {"bad-element": "depth"})


def test_netconf_console_downloads_the_model_with_get_schema(netconf_daemon):
    program = Path(sys.executable).parent / "netconf-console2"
    done = subprocess.run(
        [
            str(program),
            "--host",
            netconf_daemon.host,
            "--port",
            str(netconf_daemon.port),
            "-u",
            netconf_daemon.user,
            "-p",
            netconf_daemon.password,
            "--get-schema",
            "k3s-netconf-apps",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    # It prints the reply's <data> element.
    data = etree.fromstring(done.stdout.encode())
    assert data.tag == f"{{{NCM}}}data"
    assert data.text == model_file().read_text()


# /netconf-state


def test_netconf_state_capabilities_are_exactly_the_hello_capabilities(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as manager:
        state = netconf_state(manager, "capabilities")
        listed = [c.text for c in state.iterfind(ncm("capabilities/capability"))]
        advertised = list(manager.server_capabilities)

    assert sorted(listed) == sorted(advertised)
    assert f"{NCM}?module=ietf-netconf-monitoring&revision=2010-10-04" in listed


def test_netconf_state_schemas_list_every_advertised_module_once(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as manager:
        state = netconf_state(manager, "schemas")
        modules = module_capabilities(manager.server_capabilities)

    schemas = list(state.iterfind(ncm("schemas/schema")))
    listed = {s.findtext(ncm("identifier")): s.findtext(ncm("version")) for s in schemas}
    assert listed == modules
    assert len(schemas) == len(modules)
    for schema in schemas:
        assert schema.findtext(ncm("format")) == "yang"
        assert schema.findtext(ncm("location")) == "NETCONF"
        assert schema.findtext(ncm("namespace")).startswith("urn:")


def test_a_content_match_on_the_identifier_selects_one_schema(netconf_daemon):
    selection = (
        f'<netconf-state xmlns="{NCM}"><schemas><schema>'
        "<identifier>k3s-netconf-apps</identifier></schema></schemas></netconf-state>"
    )
    with connecting.ncclient(netconf_daemon) as manager:
        data = manager.get(filter=("subtree", selection)).data_ele

    schemas = data.findall(ncm("netconf-state/schemas/schema"))
    assert [s.findtext(ncm("identifier")) for s in schemas] == ["k3s-netconf-apps"]
    assert schemas[0].findtext(ncm("namespace")) == "urn:k3s-netconf:yang:apps"
    # Nothing but what the filter selects.
    assert [etree.QName(c).localname for c in data] == ["netconf-state"]


def test_a_filter_on_netconf_state_leaves_out_the_model_data(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as manager:
        data = netconf_state(manager, "datastores").getparent()

    assert [etree.QName(c).localname for c in data] == ["netconf-state"]
    names = [
        d.findtext(ncm("name")) for d in data.iterfind(ncm("netconf-state/datastores/datastore"))
    ]
    assert sorted(names) == ["candidate", "running", "startup"]


def test_a_locked_datastore_shows_its_holder_and_when_it_was_locked(netconf_daemon):
    with (
        connecting.ncclient(netconf_daemon) as holder,
        connecting.ncclient(netconf_daemon) as reader,
    ):
        holder.lock("startup")
        try:
            state = netconf_state(reader, "datastores")
        finally:
            holder.unlock("startup")
        unlocked = netconf_state(reader, "datastores")

    startup = next(
        d
        for d in state.iterfind(ncm("datastores/datastore"))
        if d.findtext(ncm("name")) == "startup"
    )
    lock = startup.find(ncm("locks/global-lock"))
    assert lock.findtext(ncm("locked-by-session")) == str(holder.session_id)
    assert lock.findtext(ncm("locked-time")).endswith("Z")
    assert unlocked.find(ncm("datastores/datastore/locks")) is None


def test_two_live_sessions_are_both_listed_with_their_user_and_host(netconf_daemon):
    with (
        connecting.ncclient(netconf_daemon) as first,
        connecting.ncclient(netconf_daemon) as second,
    ):
        state = netconf_state(first, "sessions")
        ids = {str(first.session_id), str(second.session_id)}

    sessions = {s.findtext(ncm("session-id")): s for s in state.iterfind(ncm("sessions/session"))}
    assert ids <= set(sessions)
    for session_id in ids:
        session = sessions[session_id]
        assert session.findtext(ncm("transport")) == "netconf-ssh"
        assert session.findtext(ncm("username")) == netconf_daemon.user
        assert session.findtext(ncm("source-host")) == "127.0.0.1"
        assert session.findtext(ncm("login-time")).endswith("Z")


def test_a_closed_session_is_no_longer_listed(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as reader:
        with connecting.ncclient(netconf_daemon) as gone:
            gone_id = str(gone.session_id)
        listed = [
            s.findtext(ncm("session-id"))
            for s in netconf_state(reader, "sessions").iterfind(ncm("sessions/session"))
        ]

    assert gone_id not in listed
    assert str(reader.session_id) in listed


def test_the_session_counters_move_with_rpcs_and_rpc_errors(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as manager:
        before = counters(own_session(manager))
        manager.get_config("running")
        manager.get_config("running")
        with pytest.raises(RPCError, match="no-such-module"):
            manager.get_schema("no-such-module")
        after = counters(own_session(manager))

    # Two get-configs, the failed get-schema and the get that reads the counters.
    assert after["in-rpcs"] == before["in-rpcs"] + 4
    assert after["out-rpc-errors"] == before["out-rpc-errors"] + 1
    assert after["in-bad-rpcs"] == before["in-bad-rpcs"]
    assert after["out-notifications"] == 0


def test_an_rpc_without_message_id_counts_as_bad_in_the_session_and_the_server(netconf_daemon):
    session_get = (
        f'<get><filter><netconf-state xmlns="{NCM}"><sessions/><statistics/></netconf-state>'
        "</filter></get>"
    )
    with connecting.raw(netconf_daemon) as client:
        own = client.hello().findtext(f"{{{NC}}}session-id")
        before = client.rpc(session_get, "1")
        assert the_error(client.rpc("<get/>", message_id=None))["tag"] == "missing-attribute"
        after = client.rpc(session_get, "2")

    def session_counters(reply):
        for session in reply.iterfind(f"{{{NC}}}data/" + ncm("netconf-state/sessions/session")):
            if session.findtext(ncm("session-id")) == own:
                return counters(session)
        raise AssertionError(f"session {own} is not listed")

    def server_counters(reply):
        return counters(reply.find(f"{{{NC}}}data/" + ncm("netconf-state/statistics")))

    assert session_counters(after)["in-bad-rpcs"] == session_counters(before)["in-bad-rpcs"] + 1
    assert (
        session_counters(after)["out-rpc-errors"] == session_counters(before)["out-rpc-errors"] + 1
    )
    assert session_counters(after)["in-rpcs"] == session_counters(before)["in-rpcs"] + 1
    assert server_counters(after)["in-bad-rpcs"] >= server_counters(before)["in-bad-rpcs"] + 1


def test_statistics_count_started_sessions_bad_hellos_and_dropped_sessions(start_daemon):
    daemon = start_daemon()
    with connecting.ncclient(daemon) as manager:
        first = statistics(manager)

        with connecting.raw(daemon) as client:
            client.read()
            client.send_marked(f'<hello xmlns="{NC}"><capabilities/></hello>')
            assert client.closed_by_server(within=5)
        dropped = connecting.hello(daemon)
        # Once the session answers it is open; then its connection goes without close-session.
        dropped.rpc("<get-config><source><running/></source></get-config>")
        dropped.transport.close()
        last = _statistics_once(manager, lambda s: int(s.findtext(ncm("dropped-sessions"))) >= 1)

    assert int(first.findtext(ncm("in-sessions"))) == 1
    assert int(last.findtext(ncm("in-sessions"))) == 3
    assert int(last.findtext(ncm("in-bad-hellos"))) == 1
    assert int(last.findtext(ncm("dropped-sessions"))) == 1
    assert first.findtext(ncm("netconf-start-time")) == last.findtext(ncm("netconf-start-time"))


def _statistics_once(manager, reached) -> etree._Element:
    """The statistics once ``reached`` holds of them, within DROP_WAIT seconds."""
    deadline = time.monotonic() + DROP_WAIT
    for _ in range(200):
        found = statistics(manager)
        if reached(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
    return found


def test_close_session_and_kill_session_do_not_count_as_dropped(start_daemon):
    daemon = start_daemon()
    with connecting.ncclient(daemon) as manager:
        with connecting.ncclient(daemon):
            pass
        victim = connecting.ncclient(daemon)
        manager.kill_session(str(victim.session_id))
        found = statistics(manager)

    assert int(found.findtext(ncm("in-sessions"))) == 3
    assert int(found.findtext(ncm("dropped-sessions"))) == 0


# /yang-library


def test_yang_library_lists_implemented_and_import_only_modules(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as manager:
        data = manager.get(filter=("subtree", f'<yang-library xmlns="{YANGLIB}"/>')).data_ele
        modules = module_capabilities(manager.server_capabilities)

    library = data.find(lib("yang-library"))
    module_set = library.find(lib("module-set"))
    implemented = {
        m.findtext(lib("name")): m.findtext(lib("revision"))
        for m in module_set.iterfind(lib("module"))
    }
    imported = {
        m.findtext(lib("name")): m.findtext(lib("revision"))
        for m in module_set.iterfind(lib("import-only-module"))
    }
    assert {**implemented, **imported} == modules
    assert {"k3s-netconf-apps", "ietf-netconf-monitoring", "ietf-yang-library"} <= set(implemented)
    assert {"ietf-inet-types", "ietf-yang-types"} <= set(imported)


def test_yang_library_datastores_point_at_the_one_schema_of_every_module(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as manager:
        data = manager.get(filter=("subtree", f'<yang-library xmlns="{YANGLIB}"/>')).data_ele

    library = data.find(lib("yang-library"))
    schema = library.find(lib("schema"))
    assert schema.findtext(lib("module-set")) == library.findtext(lib("module-set/name"))
    datastores = {}
    for datastore in library.iterfind(lib("datastore")):
        name = datastore.find(lib("name"))
        prefix, _, local = name.text.partition(":")
        assert name.nsmap[prefix] == "urn:ietf:params:xml:ns:yang:ietf-datastores"
        datastores[local] = datastore.findtext(lib("schema"))
    assert datastores == dict.fromkeys(
        ["running", "candidate", "startup", "operational"], schema.findtext(lib("name"))
    )


def test_the_hello_names_the_yang_library_with_its_content_id(netconf_daemon):
    with connecting.ncclient(netconf_daemon) as manager:
        data = manager.get(
            filter=("subtree", f'<yang-library xmlns="{YANGLIB}"><content-id/></yang-library>')
        ).data_ele
        capability = next(
            c for c in manager.server_capabilities if c.startswith(LIBRARY_CAPABILITY + "?")
        )

    query = parse_qs(urlsplit(capability).query)
    assert query["revision"] == ["2019-01-04"]
    assert query["content-id"] == [data.findtext(lib("yang-library/content-id"))]


# Both trees against their modules


def test_netconf_state_and_yang_library_are_valid_instances_of_their_modules(
    netconf_daemon, tmp_path
):
    yanglint = shutil.which("yanglint")
    assert yanglint, "yanglint (libyang2-tools, see tools/setup) is not installed"
    selection = f'<netconf-state xmlns="{NCM}"/><yang-library xmlns="{YANGLIB}"/>'
    with connecting.ncclient(netconf_daemon) as manager, connecting.ncclient(netconf_daemon):
        manager.lock("candidate")
        data = manager.get(filter=f'<filter type="subtree">{selection}</filter>').data_ele
        manager.unlock("candidate")

    instance = tmp_path / "state.xml"
    instance.write_bytes(b"".join(etree.tostring(child) for child in data))
    modules = [
        next(YANG_FOLDER.glob(f"ietf/{name}@*.yang"))
        for name in ("ietf-netconf-monitoring", "ietf-yang-library", "ietf-datastores")
    ]
    # Checked as a get's data: the deprecated /modules-state, whose leaf is mandatory in a
    # complete datastore, is not served.
    done = subprocess.run(
        [
            yanglint,
            "-t",
            "get",
            "-p",
            str(YANG_FOLDER / "ietf"),
            *map(str, modules),
            str(instance),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert [etree.QName(c).localname for c in data] == ["netconf-state", "yang-library"]
