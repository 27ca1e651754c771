"""Builds the API client from a kubeconfig, the one way this layer reaches the cluster."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from k3s_netconf import errors
from k3s_netconf.settings import KubernetesSettings

logger = logging.getLogger(__name__)

# Where K3s writes its admin kubeconfig on the device.
K3S_KUBECONFIG = Path("/etc/rancher/k3s/k3s.yaml")

# One retry covers a pooled connection that broke while a request was on its way; a refused
# or timed-out connection is not retried, as that would only multiply the wait (and the log
# lines) while the API server is down.
RETRIES = urllib3.Retry(total=1, connect=0)

# Connections the client keeps besides those of a commit: each watch (Pods, Deployments,
# Events, the Node) holds one while it runs, and the usage poller and the sessions' restarts
# and log reads need a few more. A pool smaller than what is in flight makes urllib3 warn and
# close the connections it cannot keep, so the next request pays a new TLS handshake.
OTHER_CONNECTIONS = 8


def kubeconfig_path(settings: KubernetesSettings) -> str | None:
    """The kubeconfig to read; None leaves the choice to the client (KUBECONFIG, ~/.kube)."""
    if settings.kubeconfig:
        return settings.kubeconfig
    if K3S_KUBECONFIG.exists():
        return str(K3S_KUBECONFIG)
    return None


def connect(settings: KubernetesSettings) -> client.ApiClient:
    """An API client for the cluster of the settings; no request is sent yet."""
    path = kubeconfig_path(settings)
    configuration = client.Configuration()
    configuration.retries = RETRIES
    configuration.connection_pool_maxsize = settings.concurrent_requests + OTHER_CONNECTIONS

    try:
        # persist_config=False: refreshed credentials are never written back to K3s's file.
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, persist_config=False, client_configuration=configuration
        )
    except (ConfigException, OSError, ValueError) as e:
        where = repr(path) if path else "the default kubeconfig"
        raise errors.OperationFailed(f"cannot use {where} to reach Kubernetes: {e}") from e

    logger.debug("Using the Kubernetes API server at %s.", configuration.host)
    return client.ApiClient(configuration)


def server_address(api_client: client.ApiClient) -> str:
    return str(api_client.configuration.host)


def read_body(response: Any) -> bytes:
    """The whole body of a response left unread by ``endpoints``."""
    try:
        return bytes(response.data)
    finally:
        response.release_conn()
