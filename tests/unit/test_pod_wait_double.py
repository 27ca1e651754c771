"""Waiting for deleted apps' Pods outlasts an API server that fails a list for a moment.

A double stands in for the API server here: the real one answers HTTP 504 ("Too large
resource version") only under bursts of writes, which a test cannot call up on demand.
"""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException

from k3s_netconf import errors
from k3s_netconf.kube import workloads
from k3s_netconf.settings import KubernetesSettings


class AnsweredDouble:
    def __init__(self, body: bytes) -> None:
        self.data = body

    def release_conn(self) -> None:
        pass


class PodListingDouble:
    """Answers Pod lists with the given failures first, then with no Pod at all."""

    def __init__(self, failures: list[int]) -> None:
        self.failures = failures
        self.lists = 0

    def list_pods(self, namespace: str, label_selector: str, timeout: float) -> AnsweredDouble:
        self.lists += 1
        if self.failures:
            raise ApiException(status=self.failures.pop(0), reason="failed")
        return AnsweredDouble(b'{"items": []}')


def workloads_over(double: PodListingDouble, delete_timeout: float = 5.0) -> workloads.Workloads:
    configuration = Configuration()
    configuration.host = "https://127.0.0.1:6443"
    found = workloads.Workloads(
        ApiClient(configuration), KubernetesSettings(delete_timeout=delete_timeout)
    )
    found._api = double  # type: ignore[assignment]
    return found


def test_a_list_failing_with_504_is_asked_again_until_the_pods_are_known_gone(monkeypatch):
    monkeypatch.setattr(workloads, "DELETE_POLL_SECONDS", 0.01)
    double = PodListingDouble([504, 503])
    assert workloads_over(double).wait_until_no_pods(["web", "api"]) == {}
    assert double.lists == 3


def test_a_list_denied_fails_at_once(monkeypatch):
    monkeypatch.setattr(workloads, "DELETE_POLL_SECONDS", 0.01)
    double = PodListingDouble([403])
    with pytest.raises(errors.OperationFailed, match="denied"):
        workloads_over(double).wait_until_no_pods(["web"])
    assert double.lists == 1


def test_a_list_that_keeps_failing_fails_the_wait_at_its_deadline(monkeypatch):
    monkeypatch.setattr(workloads, "DELETE_POLL_SECONDS", 0.01)
    double = PodListingDouble([504] * 1000)
    with pytest.raises(errors.OperationFailed, match="HTTP 504"):
        workloads_over(double, delete_timeout=0.2).wait_until_no_pods(["web"])
