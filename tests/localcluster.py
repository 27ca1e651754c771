"""The local single-node cluster of tools/cluster, as pytest fixtures for every tier.

The cluster is started with ``tools/cluster/up`` when no API server answers, and left running
afterwards so that later runs start at once (``tools/test`` stops it at the end). Tests can
record durations with ``record_timing``; they are printed at the end of the run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from k3s_netconf import errors
from k3s_netconf.kube import failures
from k3s_netconf.kube.connection import connect
from k3s_netconf.settings import KubernetesSettings

REPO = Path(__file__).resolve().parents[1]
CLUSTER_TOOLS = REPO / "tools" / "cluster"

# Building the cluster's programs the first time takes long; later starts take seconds.
UP_TIMEOUT = 3600

# Durations measured by the tests, printed at the end of the run.
TIMINGS = pytest.StashKey[list[tuple[str, float]]]()


@dataclass(frozen=True)
class LocalCluster:
    kubeconfig: str
    containerd_address: str


@pytest.fixture(scope="session")
def cluster() -> LocalCluster:
    if not (CLUSTER_TOOLS / "up").exists():
        pytest.skip("tools/cluster/up is missing: no local cluster can be started")

    found = _cluster_env()
    local = LocalCluster(found["KUBECONFIG"], found["CONTAINERD_ADDRESS"])
    if not _answers(local.kubeconfig):
        subprocess.run([str(CLUSTER_TOOLS / "up")], check=True, timeout=UP_TIMEOUT)
    return local


def _cluster_env() -> dict[str, str]:
    printed = subprocess.run(
        [str(CLUSTER_TOOLS / "env")], check=True, capture_output=True, text=True, timeout=30
    ).stdout
    pairs = (line.split("=", 1) for line in printed.splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def _answers(kubeconfig: str) -> bool:
    if not Path(kubeconfig).exists():
        return False
    try:
        api_client = connect(KubernetesSettings(kubeconfig=kubeconfig))
    except errors.NetconfError:
        return False
    try:
        client.VersionApi(api_client).get_code(_request_timeout=5)
    except failures.CLIENT_ERRORS:
        return False
    finally:
        api_client.close()
    return True


@pytest.fixture
def record_timing(request: pytest.FixtureRequest) -> Callable[[str, float], None]:
    def record(what: str, seconds: float) -> None:
        request.config.stash.setdefault(TIMINGS, []).append((what, seconds))

    return record


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    timings = config.stash.get(TIMINGS, [])
    if timings:
        terminalreporter.section("cluster timings")
        for what, seconds in timings:
            terminalreporter.write_line(f"{what}: {seconds:.2f} s")
