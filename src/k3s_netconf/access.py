"""Access control by RFC 8341 (NACM): who may run which rpc, and read or change which data.

The rules come from the settings (``[nacm]``). Decisions follow RFC 8341 section 3.4: the
rule-lists of the user's groups are tried in order, the first rule that matches decides, and
without one the defaults decide, except where the model marks a node or rpc
``nacm:default-deny-all``. Data is judged per unit: a top-level container, or an entry of a
list directly inside one (an app, an image, a forwarding rule). Nothing here touches the
datastores: the service hands in the trees before and after a change.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree

from k3s_netconf import errors
from k3s_netconf.settings import NacmRule, NacmSettings, SettingsError

logger = logging.getLogger(__name__)

# RFC 8341 3.2.1 and the nacm:default-deny-all marks of ietf-netconf.
ALWAYS_PERMITTED = frozenset({("ietf-netconf", "close-session")})
DENIED_BY_DEFAULT = frozenset({("ietf-netconf", "kill-session"), ("ietf-netconf", "delete-config")})

# One step of a data node path: its module (None: as the step before) and name, its keys.
Step = tuple[str | None, str, tuple[tuple[str, str], ...]]

_STEP = re.compile(r"(?:(?P<module>[^:/\[]+):)?(?P<name>[^:/\[]+)(?P<keys>(?:\[[^\]]*\])*)")
_KEY = re.compile(r"\[(?:[^:=\]]+:)?([^=\]]+)=(['\"])(.*?)\2\]")


@dataclass(frozen=True)
class Unit:
    """A node access is judged on: its module and its path from the root."""

    module: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        text = ""
        module = None
        for step_module, name, keys in self.steps:
            prefix = f"{step_module}:" if step_module != module else ""
            module = step_module
            text += f"/{prefix}{name}" + "".join(f"[{k}='{v}']" for k, v in keys)
        return text or "/"


class Access:
    """The decisions of one NACM configuration; ``settings`` None permits everything."""

    def __init__(self, settings: NacmSettings | None, module_of: Callable[[str], str]) -> None:
        self.settings = settings
        # Module name of an XML namespace.
        self.module_of = module_of
        for rule_list in settings.rule_lists if settings else ():
            for rule in rule_list.rules:
                _check_path(rule)

    @property
    def enabled(self) -> bool:
        return self.settings is not None and self.settings.enable_nacm

    def groups_of(self, user: str) -> set[str]:
        assert self.settings is not None
        return {g.name for g in self.settings.groups if user in g.users}

    def rules_for(self, user: str) -> Iterator[NacmRule]:
        assert self.settings is not None
        groups = self.groups_of(user)
        for rule_list in self.settings.rule_lists:
            if "*" in rule_list.groups or groups & set(rule_list.groups):
                yield from rule_list.rules

    def may_run(self, user: str, module: str, rpc: str) -> bool:
        """RFC 8341 3.4.4: may the user run the rpc ``rpc`` of ``module``."""
        if not self.enabled or (module, rpc) in ALWAYS_PERMITTED:
            return True
        assert self.settings is not None
        for rule in self.rules_for(user):
            if _module_matches(rule, module) and _rpc_matches(rule, rpc) and _allows(rule, "exec"):
                return rule.action == "permit"
        if (module, rpc) in DENIED_BY_DEFAULT:
            return False
        return self.settings.exec_default == "permit"

    def may_access(self, user: str, operation: str, unit: Unit) -> bool:
        """RFC 8341 3.4.5 and 3.4.6: may the user read, create, update, delete or run ``unit``."""
        if not self.enabled:
            return True
        assert self.settings is not None
        for rule in self.rules_for(user):
            if (
                _module_matches(rule, unit.module)
                and not rule.rpc_name
                and _path_matches(rule.path, unit)
                and _allows(rule, operation)
            ):
                return rule.action == "permit"
        if operation == "read":
            return self.settings.read_default == "permit"
        if operation == "exec":
            return self.settings.exec_default == "permit"
        return self.settings.write_default == "permit"

    def check_rpc(self, user: str, module: str, rpc: str) -> None:
        if not self.may_run(user, module, rpc):
            logger.info("Denied user %r the rpc %r of module %r.", user, rpc, module)
            raise errors.AccessDenied(
                f"user {user!r} may not run the rpc {rpc!r}", error_type="protocol"
            )

    def check_action(self, user: str, unit: Unit) -> None:
        if not self.may_access(user, "exec", unit):
            logger.info("Denied user %r the action %s.", user, unit)
            raise errors.AccessDenied(f"user {user!r} may not run the action", path=str(unit))

    def check_change(self, user: str, before: etree._Element, after: etree._Element) -> None:
        """Raise AccessDenied for the first unit the change creates, updates or deletes unpermitted."""
        if not self.enabled:
            return
        for operation, unit in changes(before, after, self.module_of):
            if not self.may_access(user, operation, unit):
                logger.info("Denied user %r to %s %s.", user, operation, unit)
                raise errors.AccessDenied(
                    f"user {user!r} may not {operation} {unit}", path=str(unit)
                )

    def readable(self, user: str, data: etree._Element) -> etree._Element:
        """``data`` without the units the user may not read (RFC 8341 3.4.5: silently left out).

        ``data`` may be a datastore's own tree, and is left as it is: what is left out is
        left out of a copy.
        """
        if not self.enabled or all(
            self.may_access(user, "read", unit) for _, unit in _units(data, self.module_of)
        ):
            return data

        data = copy.deepcopy(data)
        for element, unit in list(_units(data, self.module_of)):
            if not self.may_access(user, "read", unit):
                element.getparent().remove(element)
        return data


def changes(
    before: etree._Element, after: etree._Element, module_of: Callable[[str], str]
) -> Iterator[tuple[str, Unit]]:
    """(operation, unit) for each unit that differs between two datastore trees."""
    old = {unit: element for element, unit in _units(before, module_of)}
    new = {unit: element for element, unit in _units(after, module_of)}
    for unit, element in new.items():
        if unit not in old:
            yield "create", unit
        elif _canonical(old[unit]) != _canonical(element):
            yield "update", unit
    for unit in old:
        if unit not in new:
            yield "delete", unit


def _units(
    root: etree._Element, module_of: Callable[[str], str]
) -> Iterator[tuple[etree._Element, Unit]]:
    # A top-level container whose children are all entries of one list (elements with child
    # elements, of one tag) is judged per entry; anything else as a whole.
    for top in root:
        if not isinstance(top.tag, str):
            continue
        q = etree.QName(top)
        module = module_of(q.namespace or "")
        top_step: Step = (module, q.localname, ())
        entries = [c for c in top if isinstance(c.tag, str)]
        if entries and len({c.tag for c in entries}) == 1 and all(len(c) for c in entries):
            for entry in entries:
                step: Step = (module, etree.QName(entry).localname, _keys(entry))
                yield entry, Unit(module, (top_step, step))
        else:
            yield top, Unit(module, (top_step,))


def _keys(entry: etree._Element) -> tuple[tuple[str, str], ...]:
    # Our lists are keyed by "name", the forwarding rules by protocol and external-port.
    found = []
    for key in ("name", "protocol", "external-port"):
        value = entry.findtext(f"{{{etree.QName(entry).namespace}}}{key}")
        if value is not None:
            found.append((key, value.strip()))
    return tuple(found)


def _canonical(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n")


def action_unit(module: str, list_path: tuple[str, str], name: str, action: str) -> Unit:
    """The unit of an action of a list entry, such as restart of /apps/app[name='web']."""
    container, entry = list_path
    return Unit(
        module,
        ((module, container, ()), (module, entry, (("name", name),)), (module, action, ())),
    )


def parse_path(path: str) -> tuple[Step, ...]:
    """The steps of a rule's path; "/" is no step, matching every node."""
    steps: list[Step] = []
    for text in [s for s in path.split("/") if s]:
        match = _STEP.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a path step such as 'module:name[key='value']'")
        keys = tuple((k, v) for k, _, v in _KEY.findall(match["keys"] or ""))
        steps.append((match["module"], match["name"], keys))
    return tuple(steps)


def _path_matches(path: str, unit: Unit) -> bool:
    # A rule without a path matches every node; one with a path, the node and all below it.
    if not path:
        return True
    steps = parse_path(path)
    if len(steps) > len(unit.steps):
        # Access is judged per unit: a rule on a node inside one applies to nothing.
        return False
    for (module, name, keys), (unit_module, unit_name, unit_keys) in zip(steps, unit.steps):
        if module not in (None, "*", unit_module) or name not in ("*", unit_name):
            return False
        if not set(keys) <= set(unit_keys):
            return False
    return True


def _check_path(rule: NacmRule) -> None:
    # A path that cannot be read would otherwise fail at the first request it is tried on.
    try:
        parse_path(rule.path)
    except ValueError as e:
        raise SettingsError(f"nacm rule {rule.name!r}: path {rule.path!r}: {e}") from e


def _module_matches(rule: NacmRule, module: str) -> bool:
    return rule.module_name in ("*", module)


def _rpc_matches(rule: NacmRule, rpc: str) -> bool:
    # Data node rules never match an rpc; rules of no type match every rpc.
    if rule.path:
        return False
    return not rule.rpc_name or rule.rpc_name in ("*", rpc)


def _allows(rule: NacmRule, operation: str) -> bool:
    return "*" in rule.access_operations or operation in rule.access_operations
