"""The one place where the Kubernetes client's failures become the project's errors.

The client raises ``ApiException`` for every answer outside 2xx and lets urllib3's errors
through when no answer came at all. Callers catch ``CLIENT_ERRORS`` around a request and raise
what ``translate`` returns: an ``errors.NetconfError`` leaf whose message a person can act on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import urllib3
from kubernetes.client.exceptions import ApiException

from k3s_netconf import errors

NOT_FOUND = 404
CONFLICT = 409
GONE = 410
TOO_LARGE = 413
SERVER_ERROR = 500


# What the client raises: an answer outside 2xx, or no answer at all.
CLIENT_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)


def translate(
    e: Exception,
    server: str,
    doing: str,
    path: str | None = None,
    refusal: type[errors.NetconfError] = errors.InvalidValue,
) -> errors.NetconfError:
    """The error to raise, chained with ``from e``, for a failed request.

    ``server`` is the API server's address, ``doing`` what was being done ("applying the
    Deployment 'x'"), ``path`` the error-path for a refused spec, ``refusal`` the error for
    a 400 or 422 answer: a refused spec is an invalid value, a refused log read is not.
    """
    if isinstance(e, ApiException):
        return from_api_exception(e, server, doing, path, refusal)
    return from_connection_error(e, server, doing)


def from_api_exception(
    e: ApiException,
    server: str,
    doing: str,
    path: str | None = None,
    refusal: type[errors.NetconfError] = errors.InvalidValue,
) -> errors.NetconfError:
    message = server_message(e)
    status = e.status or 0

    if status in (400, 422):
        return refusal(f"the Kubernetes API server refused {doing}: {message}", path=path)
    if status == TOO_LARGE:
        return errors.TooBig(
            f"the Kubernetes API server refused {doing}: the object is too large ({message})",
            path=path,
        )
    if status == CONFLICT:
        return errors.OperationFailed(
            f"the Kubernetes API server reported a conflict while {doing}: {message}; "
            "another client changed the same object, try again"
        )
    if status in (401, 403):
        return errors.OperationFailed(
            f"the Kubernetes API server denied {doing}: {message}; "
            "check the credentials of the kubeconfig"
        )
    if status == 0:
        return errors.OperationFailed(f"the Kubernetes API server at {server} failed: {message}")
    return errors.OperationFailed(
        f"the Kubernetes API server failed while {doing} (HTTP {status}): {message}"
    )


def from_connection_error(e: Exception, server: str, doing: str) -> errors.OperationFailed:
    reason = connection_reason(e)
    if reason is None and _is_timeout(e):
        return errors.OperationFailed(
            f"the Kubernetes API server at {server} did not answer in time while {doing}"
        )
    return errors.OperationFailed(
        f"the Kubernetes API server at {server} is not reachable: {reason or e}"
    )


def server_message(e: ApiException) -> str:
    """The message of the Status object in the answer, else the HTTP reason."""
    try:
        status = json.loads(e.body or "")
    except ValueError:
        status = None

    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])
    return str(e.reason or "no reason given").strip()


def connection_reason(e: BaseException) -> str | None:
    """The operating system's words for why the connection failed ("connection refused")."""
    for cause in _causes(e):
        if isinstance(cause, OSError) and not isinstance(cause, TimeoutError) and cause.strerror:
            return cause.strerror.lower()
    return None


def is_not_found(e: Exception) -> bool:
    return isinstance(e, ApiException) and e.status == NOT_FOUND


def is_gone(e: Exception) -> bool:
    return isinstance(e, ApiException) and e.status == GONE


def is_server_failure(e: BaseException | None) -> bool:
    """The API server answered that it failed (HTTP 5xx), as a busy one does for a while."""
    return isinstance(e, ApiException) and (e.status or 0) >= SERVER_ERROR


def _is_timeout(e: BaseException) -> bool:
    # urllib3 files a refused connection under its timeouts too, so a timeout is only a
    # timeout when the operating system named no other reason.
    return any(isinstance(c, (urllib3.exceptions.TimeoutError, TimeoutError)) for c in _causes(e))


def _causes(e: BaseException) -> Iterator[BaseException]:
    """The exception, then its causes; urllib3 keeps the root one in ``reason``."""
    seen: set[int] = set()
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
        else:
            current = current.__cause__ or current.__context__
