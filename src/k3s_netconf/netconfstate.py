"""The server's own state trees: /netconf-state (RFC 6022) and /yang-library (RFC 8525).

Built fresh for each get from what the protocol layer counted, the locks the service holds
and the catalogue of YANG files, so that they can never drift from what the server does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from k3s_netconf import monitoring
from k3s_netconf.catalogue import Catalogue, YangFile

NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
YANGLIB = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"

# The one module set and schema: every datastore has the same modules.
MODULE_SET = "all"
SCHEMA = "complete"
LIBRARY_DATASTORES = ("running", "candidate", "startup", "operational")


@dataclass(frozen=True)
class Lock:
    session_id: int
    locked_time: datetime


def netconf_state(
    datastores: list[str],
    locks: dict[str, Lock],
    catalogue: Catalogue,
    snapshot: monitoring.Snapshot,
) -> etree._Element:
    root = etree.Element(_ncm("netconf-state"), nsmap={None: NCM})
    holder = etree.SubElement(root, _ncm("capabilities"))
    for uri in snapshot.capabilities:
        _leaf(holder, _ncm("capability"), uri)

    holder = etree.SubElement(root, _ncm("datastores"))
    for name in datastores:
        _datastore(holder, name, locks.get(name))

    holder = etree.SubElement(root, _ncm("schemas"))
    for file in catalogue.files:
        _schema(holder, file)

    holder = etree.SubElement(root, _ncm("sessions"))
    for session in snapshot.sessions:
        _session(holder, session)

    _statistics(root, snapshot.statistics)
    return root


def _datastore(parent: etree._Element, name: str, lock: Lock | None) -> None:
    entry = etree.SubElement(parent, _ncm("datastore"))
    _leaf(entry, _ncm("name"), name)
    if lock is None:
        return

    held = etree.SubElement(etree.SubElement(entry, _ncm("locks")), _ncm("global-lock"))
    _leaf(held, _ncm("locked-by-session"), str(lock.session_id))
    _leaf(held, _ncm("locked-time"), _timestamp(lock.locked_time))


def _schema(parent: etree._Element, file: YangFile) -> None:
    entry = etree.SubElement(parent, _ncm("schema"))
    _leaf(entry, _ncm("identifier"), file.name)
    _leaf(entry, _ncm("version"), file.revision)
    _leaf(entry, _ncm("format"), "yang")
    _leaf(entry, _ncm("namespace"), file.namespace)
    # Only get-schema hands the text out; no URL is offered.
    _leaf(entry, _ncm("location"), "NETCONF")


def _session(parent: etree._Element, session: monitoring.SessionView) -> None:
    entry = etree.SubElement(parent, _ncm("session"))
    _leaf(entry, _ncm("session-id"), str(session.session_id))
    _leaf(entry, _ncm("transport"), "netconf-ssh")
    _leaf(entry, _ncm("username"), session.username)
    _leaf(entry, _ncm("source-host"), session.source_host)
    _leaf(entry, _ncm("login-time"), _timestamp(session.login_time))
    _counters(entry, session.counters)


def _statistics(parent: etree._Element, statistics: monitoring.Statistics) -> None:
    holder = etree.SubElement(parent, _ncm("statistics"))
    _leaf(holder, _ncm("netconf-start-time"), _timestamp(statistics.netconf_start_time))
    _leaf(holder, _ncm("in-bad-hellos"), str(statistics.in_bad_hellos))
    _leaf(holder, _ncm("in-sessions"), str(statistics.in_sessions))
    _leaf(holder, _ncm("dropped-sessions"), str(statistics.dropped_sessions))
    _counters(holder, statistics.counters)


def _counters(parent: etree._Element, counters: monitoring.Counters) -> None:
    _leaf(parent, _ncm("in-rpcs"), str(counters.in_rpcs))
    _leaf(parent, _ncm("in-bad-rpcs"), str(counters.in_bad_rpcs))
    _leaf(parent, _ncm("out-rpc-errors"), str(counters.out_rpc_errors))
    _leaf(parent, _ncm("out-notifications"), str(counters.out_notifications))


def yang_library(catalogue: Catalogue) -> etree._Element:
    root = etree.Element(_lib("yang-library"), nsmap={None: YANGLIB, "ds": DS})
    module_set = etree.SubElement(root, _lib("module-set"))
    _leaf(module_set, _lib("name"), MODULE_SET)
    for module in catalogue.modules:
        _module(module_set, _lib("module"), module, catalogue)
    for module in catalogue.import_only:
        _module(module_set, _lib("import-only-module"), module, catalogue)

    schema = etree.SubElement(root, _lib("schema"))
    _leaf(schema, _lib("name"), SCHEMA)
    _leaf(schema, _lib("module-set"), MODULE_SET)

    for name in LIBRARY_DATASTORES:
        datastore = etree.SubElement(root, _lib("datastore"))
        _leaf(datastore, _lib("name"), f"ds:{name}")
        _leaf(datastore, _lib("schema"), SCHEMA)

    _leaf(root, _lib("content-id"), catalogue.content_id)
    return root


def _module(parent: etree._Element, tag: str, module: YangFile, catalogue: Catalogue) -> None:
    entry = etree.SubElement(parent, tag)
    _leaf(entry, _lib("name"), module.name)
    _leaf(entry, _lib("revision"), module.revision)
    _leaf(entry, _lib("namespace"), module.namespace)
    for submodule in catalogue.submodules_of(module):
        part = etree.SubElement(entry, _lib("submodule"))
        _leaf(part, _lib("name"), submodule.name)
        _leaf(part, _lib("revision"), submodule.revision)

    # Features and deviations exist only for implemented modules.
    if module.implemented:
        for feature in module.features:
            _leaf(entry, _lib("feature"), feature)


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _leaf(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = text


def _ncm(name: str) -> str:
    return f"{{{NCM}}}{name}"


def _lib(name: str) -> str:
    return f"{{{YANGLIB}}}{name}"
