"""The operations the server offers, behind the protocol layer.

The protocol layer hands each rpc's operation element to ``Service.handle``, which looks the
operation up in one table. Handlers read their parameters from the XML and call the
datastore, the commit and the cluster; nothing below them sees XML of the request.
"""

from __future__ import annotations

import copy
import fcntl
import logging
import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from lxml import etree

from k3s_netconf import (
    access,
    confirming,
    desired,
    errors,
    monitoring,
    netconfstate,
    notifying,
    xmltext,
)
from k3s_netconf.catalogue import Catalogue
from k3s_netconf.commits import Commits
from k3s_netconf.datastore import defaults, editing, filtering, store
from k3s_netconf.datastore.candidate import CandidateDatastore
from k3s_netconf.livestate import LiveState
from k3s_netconf.protocol import messages
from k3s_netconf.schema import APPS_NS, load
from k3s_netconf.settings import Settings

logger = logging.getLogger(__name__)

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
YANG = "urn:ietf:params:xml:ns:yang:1"
CAPABILITY = "urn:ietf:params:netconf:capability"
DATASTORES = frozenset({"running", "candidate", "startup"})


class Session(Protocol):
    """What the service needs to know of a NETCONF session."""

    session_id: int
    username: str

    def snapshot(self) -> monitoring.Snapshot: ...

    def notify(self, notification: etree._Element) -> None: ...


Reply = etree._Element | list[etree._Element] | None
Handler = Callable[[Session, etree._Element], Reply]


def _nc(name: str) -> str:
    return f"{{{NC}}}{name}"


def _ka(name: str) -> str:
    return f"{{{APPS_NS}}}{name}"


class Service:
    # Subclasses may count or wrap what the transaction does.
    commits_class: type[Commits] = Commits

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schema = load()
        self.running = store.Datastore(self.schema, settings.server.state_dir / "running.xml")
        self.startup = store.Datastore(self.schema, settings.server.state_dir / "startup.xml")
        self.commits = self.commits_class(settings, self.running)
        self.live = LiveState(self.commits)
        self.candidate = CandidateDatastore(self.schema)
        self.confirmed = confirming.ConfirmedCommits(
            self.commits, self.running, reverted=self._follow_running
        )
        # The library lists what the hello names, so it is made from the same list.
        self.catalogue = Catalogue(self.schema.folder, self._offered(), self.schema.statements())
        self.notifier = notifying.Notifier()
        # Session-id -> user name, for the notifications that say who changed running.
        self._users: dict[int, str] = {}
        self.access = access.Access(settings.nacm, self._module_of)
        # Datastore name -> the session holding its lock.
        self._locks: dict[str, int] = {}
        # Datastore name -> when its current (or last) lock was taken.
        self._locked_at: dict[str, datetime] = {}
        # One guard for the locks and the candidate, whose lock rules depend on each other.
        self._locks_guard = threading.Lock()
        self._operations: dict[str, Handler] = {
            _nc("get"): self._get,
            _nc("get-config"): self._get_config,
            _nc("edit-config"): self._edit_config,
            _nc("lock"): self._lock,
            _nc("unlock"): self._unlock,
            _nc("commit"): self._commit,
            _nc("cancel-commit"): self._cancel_commit,
            _nc("discard-changes"): self._discard_changes,
            _nc("validate"): self._validate,
            _nc("copy-config"): self._copy_config,
            _nc("delete-config"): self._delete_config,
            f"{{{YANG}}}action": self._action,
            f"{{{netconfstate.NCM}}}get-schema": self._get_schema,
            _ka("import-image"): self._import_image,
            _ka("remove-image"): self._remove_image,
            f"{{{notifying.NOTIFICATION_NS}}}create-subscription": self._create_subscription,
        }

    def start(self) -> None:
        """Load the saved configuration and start bringing the cluster in line with it."""
        self._state_lock = _lock_state_dir(self.settings.server.state_dir)
        self._load_running()
        self.confirmed.recover(running_from_startup=self.startup.saved())
        self.candidate.reset(self.running.tree)
        self.commits.cluster.subscribe(self.notifier.pod_changed)
        self.commits.image_listeners.append(self.notifier.image_result)
        self.commits.commit_listeners.append(self._config_changed)
        self.commits.start()

    def _load_running(self) -> None:
        if not self.startup.saved():
            self.running.load()
            return

        # A restart brings back what was saved for it, not what was committed last.
        self.startup.load()
        self.running.replace(store.validated(self.schema, copy.deepcopy(self.startup.tree)))
        logger.info("Running starts from the startup configuration.")

    def stop(self) -> None:
        self.confirmed.stop()
        self.commits.stop()

    def capabilities(self) -> list[str]:
        """Capabilities beyond base:1.0 and base:1.1, advertised in the server's hello."""
        library = f"{CAPABILITY}:yang-library:1.1?revision=2019-01-04"
        return [*self._offered(), f"{library}&content-id={self.catalogue.content_id}"]

    def _offered(self) -> list[str]:
        modules = [
            f"{m.namespace}?module={m.name}&revision={m.revision}" for m in self.schema.modules
        ]
        return [
            f"{CAPABILITY}:writable-running:1.0",
            f"{CAPABILITY}:candidate:1.0",
            f"{CAPABILITY}:confirmed-commit:1.1",
            f"{CAPABILITY}:rollback-on-error:1.0",
            f"{CAPABILITY}:validate:1.1",
            f"{CAPABILITY}:startup:1.0",
            f"{CAPABILITY}:xpath:1.0",
            defaults.CAPABILITY,
            f"{CAPABILITY}:notification:1.0",
            f"{CAPABILITY}:interleave:1.0",
            *modules,
        ]

    def handle(self, session: Session, operation: etree._Element) -> Reply:
        """Carry out one operation; return the reply's content, or None for ``<ok/>``."""
        self._users[session.session_id] = session.username
        handler = self._operations.get(operation.tag)
        if handler is None:
            raise errors.OperationNotSupported(
                f"the operation {etree.QName(operation).localname!r} is not supported",
                info={"bad-element": etree.QName(operation).localname},
            )
        reply = handler(session, operation)
        if operation.tag in (_nc("get"), _nc("get-config")) and reply is not None:
            # RFC 8341 3.4.5: what the user may not read is left out, without an error.
            return self.access.readable(session.username, reply)  # type: ignore[arg-type]
        return reply

    def authorize(self, session: Session, operation: etree._Element) -> None:
        """Access control of every rpc, in one place: the rpc, then the data it changes.

        The protocol layer calls it before any operation, its own close- and kill-session too.
        """
        if not self.access.enabled:
            return
        user = session.username
        if operation.tag == f"{{{YANG}}}action":
            app, action = _app_action(operation)
            unit = access.action_unit(
                "k3s-netconf-apps", ("apps", "app"), app, etree.QName(action).localname
            )
            self.access.check_action(user, unit)
            return

        q = etree.QName(operation)
        self.access.check_rpc(user, self._module_of(q.namespace or ""), q.localname)
        change = self._planned_change(operation)
        if change is not None:
            self.access.check_change(user, *change)

    def _planned_change(
        self, operation: etree._Element
    ) -> tuple[etree._Element, etree._Element] | None:
        """The target datastore's tree before and after a write, for access control."""
        if operation.tag == _nc("edit-config"):
            target = _datastore(operation, "target", {"running", "candidate"})
            before = self._tree(target)
            after = copy.deepcopy(before)
            config = _param(operation, "config")
            default = _choice(operation, "default-operation", {"merge", "replace", "none"}, "merge")
            if config is not None:
                editing.apply(self.schema, after, config, default)
            return before, after
        if operation.tag == _nc("copy-config"):
            target = _datastore(operation, "target", DATASTORES)
            return self._tree(target), self._source(operation)[1]
        if operation.tag == _nc("commit"):
            return self._tree("running"), self._tree("candidate")
        if operation.tag == _nc("delete-config"):
            return self._tree("startup"), store.empty_tree()
        return None

    def _module_of(self, namespace: str) -> str:
        if namespace == NC:
            return "ietf-netconf"
        return self.schema.module_of_namespace.get(namespace, namespace)

    def session_ended(self, session: Session) -> None:
        """Release what the session held: called once per session, however it ended."""
        self.notifier.unsubscribe(session.session_id)
        self._users.pop(session.session_id, None)
        with self._locks_guard:
            held = [name for name, holder in self._locks.items() if holder == session.session_id]
            for name in held:
                del self._locks[name]
                logger.info("Released the lock on %s held by session %d.", name, session.session_id)

            # RFC 6241 8.3.5.2: a lock holder's uncommitted changes end with its session.
            if "candidate" in held and session.session_id in self.candidate.editors:
                self.candidate.reset(self.running.tree)
                logger.info("Discarded the candidate's changes of session %d.", session.session_id)

        self.confirmed.session_ended(session.session_id)

    # Reading

    def _get(self, session: Session, operation: etree._Element) -> etree._Element:
        _only(operation, {"filter", defaults.PARAMETER})
        mode = defaults.mode_of(operation)
        filter_ = _param(operation, "filter")
        protocol_state = self._protocol_state(session, filter_)
        if mode == defaults.BASIC_MODE and _is_subtree(filter_):
            return self._get_subtree(filter_, protocol_state)

        tree = defaults.reported(self.schema, self.live.tree(), mode, config_only=False)
        tree.extend(protocol_state)
        return filtering.filtered(self.schema, tree, filter_)

    def _get_subtree(
        self, filter_: etree._Element, protocol_state: list[etree._Element]
    ) -> etree._Element:
        """A get that a subtree filter selects from, as the basic with-defaults mode reports it.

        The filter copies what it selects, so it reads the live tree that every get shares
        instead of a copy of its own. A subtree filter picks each top-level node on its own,
        which lets the protocol's state, built for this get, be filtered apart and joined.
        """
        live = self.live.shared()
        selected = filtering.subtree(live, filter_)
        if protocol_state:
            holder = etree.Element(live.tag, nsmap=live.nsmap)
            holder.extend(protocol_state)
            selected.extend(list(filtering.subtree(holder, filter_)))
        return selected

    def _protocol_state(
        self, session: Session, filter_: etree._Element | None
    ) -> list[etree._Element]:
        """The protocol's own state, built only where the get's filter can select it."""
        builders = (
            (netconfstate.NCM, lambda: self._netconf_state(session)),
            (netconfstate.YANGLIB, lambda: netconfstate.yang_library(self.catalogue)),
            (notifying.NETMOD_NS, self.notifier.streams),
        )
        return [build() for namespace, build in builders if _may_select(filter_, namespace)]

    def _netconf_state(self, session: Session) -> etree._Element:
        with self._locks_guard:
            locks = {
                name: netconfstate.Lock(holder, self._locked_at[name])
                for name, holder in self._locks.items()
            }
        return netconfstate.netconf_state(
            sorted(DATASTORES), locks, self.catalogue, session.snapshot()
        )

    def _get_schema(self, session: Session, operation: etree._Element) -> etree._Element:
        _only(operation, {"identifier", "version", "format"}, netconfstate.NCM)
        identifier = _monitoring_param(operation, "identifier")
        if not identifier:
            raise errors.MissingElement(
                "get-schema needs an <identifier>, the name of a module or submodule",
                info={"bad-element": "identifier"},
            )
        _schema_format(operation)

        version = _monitoring_param(operation, "version")
        text = self.catalogue.schema_text(identifier, version)
        logger.debug(
            "Session %d downloads the schema %r, version %r.",
            session.session_id,
            identifier,
            version,
        )
        data = etree.Element(f"{{{netconfstate.NCM}}}data", nsmap={None: netconfstate.NCM})
        data.text = text
        return data

    def _get_config(self, session: Session, operation: etree._Element) -> etree._Element:
        _only(operation, {"source", "filter", defaults.PARAMETER})
        source = _datastore(operation, "source", DATASTORES)
        mode = defaults.mode_of(operation)
        filter_ = _param(operation, "filter")
        if mode == defaults.BASIC_MODE and (filter_ is None or _is_subtree(filter_)):
            # The datastore's tree as it is, shared: no datastore's tree is changed in place,
            # a subtree filter copies what it selects, and the reply serializes it where it is.
            return filtering.filtered(self.schema, self._tree(source), filter_)

        tree = defaults.reported(self.schema, copy.deepcopy(self._tree(source)), mode, True)
        return filtering.filtered(self.schema, tree, filter_)

    def _tree(self, name: str) -> etree._Element:
        """A datastore's tree, by name: to be read or copied, never changed."""
        if name == "candidate":
            with self._locks_guard:
                return self.candidate.tree
        return self.startup.tree if name == "startup" else self.running.tree

    def _source(self, operation: etree._Element) -> tuple[str, etree._Element]:
        """The <source> of validate or copy-config: a datastore's name or "config", and a tree."""
        source = _param(operation, "source")
        inline = _param(source, "config") if source is not None else None
        if inline is not None:
            return "config", store.from_config(self.schema, inline)
        name = _datastore(operation, "source", DATASTORES)
        return name, copy.deepcopy(self._tree(name))

    # Changing

    def _edit_config(self, session: Session, operation: etree._Element) -> None:
        _only(operation, {"target", "default-operation", "error-option", "test-option", "config"})
        target = _datastore(operation, "target", {"running", "candidate"})
        self._check_lock(session, target)

        default = _choice(operation, "default-operation", {"merge", "replace", "none"}, "merge")
        _error_option(operation)
        # Without the option, the candidate's constraints wait for commit (RFC 7950 8.3.2).
        test = _choice(operation, "test-option", {"test-then-set", "set", "test-only"}, "")

        config = _param(operation, "config")
        if config is None:
            raise errors.MissingElement(
                "edit-config needs a <config> element",
                error_type="protocol",
                info={"bad-element": "config"},
            )
        if target == "candidate":
            self._edit_candidate(session, config, default, test)
        elif test == "test-only":
            self.commits.test_edit(config, default)
        else:
            # running is always validated as a whole (RFC 7950 8.3.2), even with "set".
            self.commits.edit(config, default, session.session_id)
            self._follow_running()

    def _edit_candidate(
        self, session: Session, config: etree._Element, default: str, test: str
    ) -> None:
        # Edits of one candidate by several sessions at once are made one after the other, so
        # none is lost and none waits for ever: an edit and its check take milliseconds.
        with self._locks_guard:
            tree = self.candidate.edited(config, default)
            if test in ("test-then-set", "test-only"):
                self.commits.validate(tree)
            if test != "test-only":
                self.candidate.replace(tree, session.session_id)

    def _commit(self, session: Session, operation: etree._Element) -> None:
        _only(operation, {"confirmed", "confirm-timeout", "persist", "persist-id"})
        request = _confirm_request(operation)
        self._check_lock(session, "running")
        self._check_lock(session, "candidate")
        with self._locks_guard:
            tree = copy.deepcopy(self.candidate.tree)

        self.confirmed.commit(tree, session.session_id, request)
        self._candidate_committed(tree)

    def _cancel_commit(self, session: Session, operation: etree._Element) -> None:
        _only(operation, {"persist-id"})
        self._check_lock(session, "running")
        self.confirmed.cancel(session.session_id, _text(operation, "persist-id"))

    def _candidate_committed(self, tree: etree._Element) -> None:
        # Another edit of the candidate while the commit ran stays uncommitted.
        with self._locks_guard:
            if etree.tostring(self.candidate.tree) == etree.tostring(tree):
                self.candidate.reset(self.running.tree)

    def _discard_changes(self, session: Session, operation: etree._Element) -> None:
        _only(operation, set())
        self._check_lock(session, "candidate")
        with self._locks_guard:
            self.candidate.reset(self.running.tree)
        logger.info("Session %d discarded the candidate's changes.", session.session_id)

    def _validate(self, session: Session, operation: etree._Element) -> None:
        _only(operation, {"source"})
        self.commits.validate(self._source(operation)[1])

    def _copy_config(self, session: Session, operation: etree._Element) -> None:
        _only(operation, {"source", "target", defaults.PARAMETER})
        target = _datastore(operation, "target", DATASTORES)
        source, tree = self._source(operation)
        # The copy holds the source as that mode reads it; a datastore keeps no tags.
        mode = defaults.mode_of(operation).replace("report-all-tagged", "report-all")
        tree = defaults.reported(self.schema, tree, mode, config_only=True)
        if source == target:
            raise errors.InvalidValue(
                f"copy-config from {source} to itself changes nothing",
                error_type="protocol",
                info={"bad-element": "target"},
            )
        self._check_lock(session, target)

        if target == "running":
            # Replacing running is a commit: planned, performed, undone on error.
            self.commits.commit(tree, session.session_id)
            if source == "candidate":
                self._candidate_committed(tree)
            self._follow_running()
        elif target == "candidate":
            with self._locks_guard:
                self.candidate.replace(tree, session.session_id)
        else:
            self.startup.replace(store.validated(self.schema, tree))
        logger.info("Session %d copied %s to %s.", session.session_id, source, target)

    def _delete_config(self, session: Session, operation: etree._Element) -> None:
        _only(operation, {"target"})
        _datastore(operation, "target", {"startup"})
        self._check_lock(session, "startup")
        self.startup.delete()
        logger.info("Session %d deleted the startup configuration.", session.session_id)

    def _follow_running(self) -> None:
        # An unchanged candidate is running's copy, also after edits of running itself.
        with self._locks_guard:
            if not self.candidate.editors:
                self.candidate.reset(self.running.tree)

    def _lock(self, session: Session, operation: etree._Element) -> None:
        _only(operation, {"target"})
        target = _datastore(operation, "target", DATASTORES)
        with self._locks_guard:
            holder = self._locks.get(target)
            if holder is not None:
                raise errors.LockDenied(
                    f"{target} is locked by session {holder}", info={"session-id": str(holder)}
                )
            others = self.candidate.changed_by_others(session.session_id)
            if target == "candidate" and others:
                raise errors.LockDenied(
                    f"the candidate holds uncommitted changes of session {others[0]}; commit "
                    "or discard them first",
                    info={"session-id": str(others[0])},
                )
            self._locks[target] = session.session_id
            self._locked_at[target] = datetime.now(UTC)
        logger.info("Session %d locked %s.", session.session_id, target)

    def _unlock(self, session: Session, operation: etree._Element) -> None:
        _only(operation, {"target"})
        target = _datastore(operation, "target", DATASTORES)
        with self._locks_guard:
            if self._locks.get(target) != session.session_id:
                raise errors.OperationFailed(
                    f"this session does not hold the lock on {target}", error_type="protocol"
                )
            del self._locks[target]
        logger.info("Session %d unlocked %s.", session.session_id, target)

    def _check_lock(self, session: Session, target: str) -> None:
        holder = self._locks.get(target)
        if holder is not None and holder != session.session_id:
            raise errors.InUse(
                f"{target} is locked by session {holder}",
                error_type="protocol",
                info={"session-id": str(holder)},
            )

    # Actions and rpcs of the model

    def _action(self, session: Session, operation: etree._Element) -> Reply:
        app, action = _app_action(operation)
        self._check_lock(session, "running")
        if action.tag == _ka("restart"):
            self.commits.restart(app)
            return None
        if action.tag == _ka("logs"):
            lines = int(_leaf(action, "lines", "100", range(1, 10001)))
            previous = _leaf(action, "previous", "false", {"true", "false"}) == "true"
            pod, text = self.commits.logs(app, lines, previous, action.findtext(_ka("pod")))
            return [_output("pod", pod), _output("text", text)]
        raise errors.UnknownElement(
            f"the app has no action {etree.QName(action).localname!r}",
            info={"bad-element": etree.QName(action).localname},
        )

    def _import_image(self, session: Session, operation: etree._Element) -> list[etree._Element]:
        name = self._image_name(operation)
        archive = _required(operation, "archive")
        sha256 = operation.findtext(_ka("sha256"))
        info = self.commits.import_image(name, archive, sha256.strip() if sha256 else None)
        output = [_output("digest", info.digest)]
        if info.size is not None:
            output.append(_output("size", str(info.size)))
        return output

    def _create_subscription(self, session: Session, operation: etree._Element) -> None:
        self.notifier.subscribe(session, operation)

    def _config_changed(self, session_id: int, old: desired.Config, new: desired.Config) -> None:
        self.notifier.config_changed(session_id, self._users.get(session_id, ""), old, new)

    def _remove_image(self, session: Session, operation: etree._Element) -> None:
        self.commits.remove_image(self._image_name(operation))

    def _image_name(self, operation: etree._Element) -> str:
        name = _required(operation, "name")
        leaf = (
            self.schema.root.child(APPS_NS, "images").child(APPS_NS, "image").child(APPS_NS, "name")
        )
        if leaf.yang.type.from_raw(name) not in leaf.yang.type:
            raise errors.InvalidValue(
                f"{name!r} is not a fully qualified image reference with a tag, such as "
                "'docker.io/library/busybox:1.36'",
                path="/ka:name",
            )
        return name


class StateDirBusy(Exception):
    """Another daemon uses the same state folder."""


def _lock_state_dir(folder: Path) -> IO[bytes]:
    # Two daemons on one datastore file would overwrite each other's commits.
    folder.mkdir(parents=True, exist_ok=True)
    lock = (folder / "k3s-netconfd.lock").open("wb")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        lock.close()
        raise StateDirBusy(
            f"another k3s-netconfd already uses the state folder {str(folder)!r}"
        ) from e
    return lock


# Parameter reading, shared by the handlers


def _only(operation: etree._Element, allowed: set[str], namespace: str = NC) -> None:
    messages.only_parameters(operation, allowed, namespace)


def _may_select(filter_: etree._Element | None, namespace: str) -> bool:
    """Whether a get's filter can select data of a namespace: the protocol's own state is
    built only for the gets that can return it."""
    if filter_ is None or filter_.get("type", "subtree") != "subtree":
        return True
    # A filter element in no namespace matches every namespace (RFC 6241 6.2.2).
    tops = (child for child in filter_ if isinstance(child.tag, str))
    return any(etree.QName(child).namespace in (namespace, None) for child in tops)


def _is_subtree(filter_: etree._Element | None) -> bool:
    return filter_ is not None and filter_.get("type", "subtree") == "subtree"


def _param(operation: etree._Element, name: str) -> etree._Element | None:
    """A parameter of a base operation; clients such as ncclient send some in no namespace."""
    found = operation.find(_nc(name))
    return found if found is not None else operation.find(name)


def _datastore(operation: etree._Element, parameter: str, offered: Collection[str]) -> str:
    """The name of the datastore a parameter such as <target> names, one of ``offered``."""
    holder = _param(operation, parameter)
    if holder is None:
        raise errors.MissingElement(
            f"{etree.QName(operation).localname!r} needs a <{parameter}>",
            error_type="protocol",
            info={"bad-element": parameter},
        )
    names = [etree.QName(c).localname for c in holder if isinstance(c.tag, str)]
    if len(names) != 1 or names[0] not in offered:
        raise errors.InvalidValue(
            f"<{parameter}> of {etree.QName(operation).localname!r} must name one of "
            f"{', '.join(sorted(offered))}; got {', '.join(names) or 'nothing'}",
            error_type="protocol",
            info={"bad-element": parameter},
        )
    return names[0]


def _choice(operation: etree._Element, name: str, allowed: set[str], default: str) -> str:
    element = _param(operation, name)
    if element is None:
        return default
    value = (element.text or "").strip()
    if value not in allowed:
        raise errors.InvalidValue(
            f"{name} must be one of {', '.join(sorted(allowed))}, not {value!r}",
            error_type="protocol",
            info={"bad-element": name},
        )
    return value


def _monitoring_element(operation: etree._Element, name: str) -> etree._Element | None:
    """A parameter of get-schema, in its module's namespace or, as some clients send it, none."""
    found = operation.find(f"{{{netconfstate.NCM}}}{name}")
    return found if found is not None else operation.find(name)


def _monitoring_param(operation: etree._Element, name: str) -> str | None:
    found = _monitoring_element(operation, name)
    if found is None or not (found.text or "").strip():
        return None
    return found.text.strip()


def _schema_format(operation: etree._Element) -> None:
    element = _monitoring_element(operation, "format")
    value = (element.text or "").strip() if element is not None else ""
    if not value:
        return

    # An identityref: "yang" or a prefix bound to the module's namespace, "ncm:yang".
    prefix, _, name = value.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    if name != "yang" or (prefix and namespace != netconfstate.NCM):
        raise errors.InvalidValue(
            f"the server offers its schemas in the format yang only, not {value!r}",
            info={"bad-element": "format"},
        )


def _error_option(operation: etree._Element) -> None:
    # Every edit is all or nothing: stop-on-error and rollback-on-error both end with nothing
    # applied, while continue-on-error would need the edits before a failure to stay.
    option = _choice(
        operation,
        "error-option",
        {"stop-on-error", "continue-on-error", "rollback-on-error"},
        "stop-on-error",
    )
    if option == "continue-on-error":
        raise errors.OperationNotSupported(
            "error-option continue-on-error is not supported: an edit is applied whole or not "
            "at all; use rollback-on-error or stop-on-error",
            error_type="protocol",
            info={"bad-element": "error-option"},
        )


def _confirm_request(operation: etree._Element) -> confirming.Request:
    confirmed = _param(operation, "confirmed") is not None
    timeout, persist = _text(operation, "confirm-timeout"), _text(operation, "persist")
    if not confirmed and (timeout is not None or persist is not None):
        raise errors.MissingElement(
            "confirm-timeout and persist belong to a confirmed commit; add <confirmed/>",
            error_type="protocol",
            info={"bad-element": "confirmed"},
        )
    return confirming.Request(
        confirmed=confirmed,
        timeout=confirming.DEFAULT_TIMEOUT if timeout is None else _seconds(timeout),
        persist=persist,
        persist_id=_text(operation, "persist-id"),
    )


def _seconds(text: str) -> int:
    # RFC 6241 section 8.4.5.1: uint32, at least 1.
    if not text.isdigit() or not 1 <= int(text) <= 2**32 - 1:
        raise errors.InvalidValue(
            f"confirm-timeout must be a whole number of seconds from 1 to {2**32 - 1}, "
            f"not {text!r}",
            error_type="protocol",
            info={"bad-element": "confirm-timeout"},
        )
    return int(text)


def _text(operation: etree._Element, name: str) -> str | None:
    element = _param(operation, name)
    return None if element is None else (element.text or "").strip()


def _app_action(operation: etree._Element) -> tuple[str, etree._Element]:
    apps = operation.find(_ka("apps"))
    app = apps.find(_ka("app")) if apps is not None else None
    name = app.findtext(_ka("name")) if app is not None else None
    if app is None or not name:
        raise errors.MissingElement(
            "an action names its app: <apps><app><name>NAME</name><restart/></app></apps>",
            info={"bad-element": "app"},
        )
    actions = [c for c in app if isinstance(c.tag, str) and c.tag != _ka("name")]
    if len(actions) != 1:
        raise errors.BadElement(
            "exactly one action must follow the app's name", info={"bad-element": "app"}
        )
    return name.strip(), actions[0]


def _required(element: etree._Element, name: str) -> str:
    value = element.findtext(_ka(name))
    if value is None or not value.strip():
        raise errors.MissingElement(
            f"{name!r} is required", path=f"/ka:{name}", info={"bad-element": name}
        )
    return value.strip()


def _leaf(element: etree._Element, name: str, default: str, allowed) -> str:
    value = (element.findtext(_ka(name)) or default).strip()
    try:
        ok = (int(value) in allowed) if isinstance(allowed, range) else value in allowed
    except ValueError:
        ok = False
    if not ok:
        raise errors.InvalidValue(f"{value!r} is not a valid {name}", path=f"/ka:{name}")
    return value


def _output(name: str, text: str | None) -> etree._Element:
    element = etree.Element(_ka(name), nsmap={None: APPS_NS})
    element.text = xmltext.clean(text or "")
    return element
