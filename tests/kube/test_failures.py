"""How the client's failures read once translated, from real requests where one can be made."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from k3s_netconf import errors
from k3s_netconf.kube import failures


def refused(status: int, message: str) -> ApiException:
    e = ApiException(status=status, reason="Refused")
    e.body = json.dumps({"kind": "Status", "status": "Failure", "message": message, "code": status})
    return e


def list_nodes(host: str) -> errors.NetconfError:
    configuration = client.Configuration()
    configuration.host = host
    configuration.retries = 0
    api = client.CoreV1Api(client.ApiClient(configuration))
    try:
        api.list_node(_request_timeout=1)
    except failures.CLIENT_ERRORS as e:
        return failures.translate(e, host, "listing the Nodes")
    raise AssertionError("the request was expected to fail")


@pytest.fixture
def closed_port() -> int:
    # A port that was just free on loopback, with nothing listening on it any more.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_refused_spec_is_an_invalid_value_with_the_servers_message_and_the_path():
    e = refused(422, 'Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1')

    translated = failures.translate(e, "https://127.0.0.1:6443", "applying 'x'", "/apps/app")

    assert isinstance(translated, errors.InvalidValue)
    assert "spec.replicas: Invalid value: -1" in translated.message
    assert translated.path == "/apps/app"


def test_a_refused_log_read_can_be_an_operation_failure():
    e = refused(400, "previous terminated container not found")

    translated = failures.translate(e, "s", "reading logs", refusal=errors.OperationFailed)

    assert type(translated) is errors.OperationFailed


def test_a_conflict_says_so_and_suggests_trying_again():
    translated = failures.translate(refused(409, "the object has been modified"), "s", "applying")

    assert isinstance(translated, errors.OperationFailed)
    assert "conflict" in translated.message
    assert "the object has been modified" in translated.message


def test_an_answer_without_a_status_body_uses_the_http_reason():
    translated = failures.translate(
        ApiException(status=503, reason="Service Unavailable"), "s", "x"
    )

    assert "HTTP 503" in translated.message
    assert "Service Unavailable" in translated.message


def test_a_closed_port_is_reported_as_not_reachable(closed_port: int):
    host = f"https://127.0.0.1:{closed_port}"

    translated = list_nodes(host)

    assert isinstance(translated, errors.OperationFailed)
    assert translated.message == (
        f"the Kubernetes API server at {host} is not reachable: connection refused"
    )


def test_a_server_that_never_answers_is_reported_as_a_timeout(silent_port: int):
    translated = list_nodes(f"http://127.0.0.1:{silent_port}")

    assert isinstance(translated, errors.OperationFailed)
    assert "did not answer in time while listing the Nodes" in translated.message
