"""Validation of a whole configuration tree against the model.

libyang decides (checking.py) and gives the values; when it refuses, yangson finds the
problem again and reports it with its own instance route and tag, which this module maps to
the RFC 6241 / RFC 7950 section 15 error-tags and to error-paths written with the server's
prefixes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from lxml import etree
from yangson import exceptions as yx
from yangson.enumerations import ContentType
from yangson.instance import RootNode

from k3s_netconf import errors
from k3s_netconf.datastore import checking
from k3s_netconf.paths import PREFIXES
from k3s_netconf.schema import APPS_MODULE, Schema

logger = logging.getLogger(__name__)

_MODULE_PREFIX = {APPS_MODULE: next(iter(PREFIXES))}
_STEP = re.compile(r"/(?:(?P<module>[\w.-]+):)?(?P<name>[\w.-]+)(?P<predicates>(?:\[[^\]]*\])*)")
_PREDICATE = re.compile(r"\[(?P<key>[\w.-]+)=(?P<quote>[\"'])(?P<value>.*?)(?P=quote)\]")

# RFC 7950 section 15: the error-tag and error-app-tag for each kind of violation.
_SEMANTIC = {
    "instance-required": (errors.DataMissing, "instance-required"),
    "must-violation": (errors.OperationFailed, "must-violation"),
    "data-not-unique": (errors.OperationFailed, "data-not-unique"),
    "too-many-elements": (errors.OperationFailed, "too-many-elements"),
    "too-few-elements": (errors.OperationFailed, "too-few-elements"),
    "missing-choice": (errors.DataMissing, "missing-choice"),
}


def instance(schema: Schema, tree: etree._Element) -> RootNode:
    """The yangson instance of a datastore tree, checked against the model."""
    try:
        root = schema.datamodel.from_xml(tree)
        root.validate(ctype=ContentType.config)
    except yx.ValidationError as e:
        raise _from_validation_error(e) from e
    except yx.RawTypeError as e:
        raise errors.InvalidValue(
            f"a value has the wrong form: {e.message}", path=_path(e.path)
        ) from e
    except yx.RawDataError as e:
        raise errors.UnknownElement(
            "an element is not part of the model", path=_path(e.path), error_type="application"
        ) from e
    return root


def config_values(
    schema: Schema, tree: etree._Element | bytes, explain: bool = True
) -> dict[str, Any]:
    """The validated tree, or its content serialized (``checking.content``), as its RFC 7951
    JSON value, defaults filled in.

    An invalid tree raises the NETCONF error that names its problem; without ``explain``,
    libyang's refusal (checking.Refused) as it is.
    """
    data = tree if isinstance(tree, bytes) else checking.content(tree)
    try:
        return schema.checker.values(data)
    except checking.Refused as refused:
        if not explain:
            raise
        try:
            instance(schema, checking.tree_of(data) if isinstance(tree, bytes) else tree)
        except errors.NetconfError:
            raise
        except Exception:  # yangson failing on its own: libyang's word stands
            logger.debug("yangson could not check a tree libyang refused", exc_info=True)
        raise _from_refusal(refused) from refused


def _from_refusal(refused: checking.Refused) -> errors.NetconfError:
    """libyang's refusal, for the trees yangson cannot explain (it fails on some)."""
    path = _route(refused.path) if refused.path else "/"
    for start, (cls, app_tag) in _LIBYANG_KINDS.items():
        if refused.reason.startswith(start):
            error = cls(refused.reason, path=path)
            error.app_tag = app_tag
            return error
    return errors.InvalidValue(refused.reason, path=path)


# The start of libyang's reason, for the kinds whose error-tag is not invalid-value.
_LIBYANG_KINDS = {
    "Mandatory choice": (errors.DataMissing, "missing-choice"),
    "Mandatory node": (errors.DataMissing, None),
    "Unique data": (errors.OperationFailed, "data-not-unique"),
    "Too many": (errors.OperationFailed, "too-many-elements"),
    "Too few": (errors.OperationFailed, "too-few-elements"),
    "Invalid leafref": (errors.DataMissing, "instance-required"),
}


def _from_validation_error(e: yx.ValidationError) -> errors.NetconfError:
    path = _route(e.instance.instance_route())
    detail = f": {e.message}" if e.message else ""

    if isinstance(e, yx.YangTypeError):
        return errors.InvalidValue(
            f"{_value_of(e)} is not a valid {_name_of(path)}{detail}", path=path
        )
    if isinstance(e, yx.SchemaError) and e.tag == "missing-data":
        return errors.DataMissing(f"a mandatory node is missing{detail}", path=path)

    # yangson may append detail to the tag itself ("data-not-unique: entry 1").
    tag = (e.tag or "").split(":", 1)[0]
    cls, app_tag = _SEMANTIC.get(tag, (errors.InvalidValue, None))
    message = _SEMANTIC_MESSAGES.get(tag, f"{e.tag}{detail}").format(
        value=_value_of(e), name=_name_of(path)
    )
    if tag == "must-violation" and e.message:
        message = e.message
    error = cls(message, path=path)
    error.app_tag = app_tag
    return error


_SEMANTIC_MESSAGES = {
    "instance-required": "{name} {value} refers to something that is not configured",
    "data-not-unique": "two entries have the same values where the model requires them unique",
    "too-many-elements": "too many entries",
    "too-few-elements": "too few entries",
    "missing-choice": "one of the alternatives must be given",
}


def _value_of(e: yx.ValidationError) -> str:
    value = getattr(e.instance, "value", None)
    return repr(str(value)) if value is not None else "the value"


def _name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1].split("[", 1)[0].split(":")[-1]


def _route(route: object) -> str:
    """yangson's instance route, rewritten with the server's prefixes."""
    text = str(route)
    out = []
    for m in _STEP.finditer(text):
        prefix = _MODULE_PREFIX.get(m["module"] or APPS_MODULE, m["module"])
        predicates = _PREDICATE.sub(
            lambda p, prefix=prefix: f"[{prefix}:{p['key']}='{p['value']}']", m["predicates"]
        )
        out.append(f"/{prefix}:{m['name']}{predicates}")
    return "".join(out) or "/"


def _path(pointer: str) -> str:
    # A JSON pointer from a raw-data error: list positions are dropped, names kept.
    steps = [s for s in str(pointer).split("/") if s and not s.isdigit()]
    return _route("/" + "/".join(steps))
