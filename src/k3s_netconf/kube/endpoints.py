"""The few Kubernetes API requests the plugin makes, sent through the client's ``ApiClient``.

The client's generated API classes (``CoreV1Api``, ``AppsV1Api``) import some 300 model
modules and wrap each call in pydantic validation: about 0.8 s and 25 MB at start for nine
requests whose answers this layer reads as raw JSON anyway. Going through ``ApiClient`` keeps
the client's authentication, TLS, retries and ``ApiException`` for a refused request.

Every method returns the urllib3 response unread, as the generated methods do when called
with ``_preload_content=False``; ``connection.read_body`` reads and releases it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

# Seconds for the whole request, or (connect, read); None waits as long as the server takes.
Timeout = float | tuple[float, float] | None
Query = list[tuple[str, Any]]

APPLY_PATCH = "application/apply-patch+yaml"


class Endpoints:
    """Namespaces, Deployments, Pods and Nodes: the requests this layer needs, by name."""

    def __init__(self, api_client: ApiClient) -> None:
        self._client = api_client

    def patch_namespace(
        self, name: str, body: Any, field_manager: str, content_type: str, timeout: Timeout
    ) -> Any:
        query: Query = [("fieldManager", field_manager), ("force", True)]
        path = f"/api/v1/namespaces/{_part(name)}"
        return self._send("PATCH", path, query, timeout, body=body, content_type=content_type)

    def patch_deployment(
        self,
        name: str,
        namespace: str,
        body: Any,
        field_manager: str,
        content_type: str,
        timeout: Timeout,
        force: bool = False,
    ) -> Any:
        # force is only allowed on apply requests, so it is sent only when asked for.
        query: Query = [("fieldManager", field_manager)] + ([("force", True)] if force else [])
        path = _deployments(namespace) + f"/{_part(name)}"
        return self._send("PATCH", path, query, timeout, body=body, content_type=content_type)

    def read_deployment(self, name: str, namespace: str, timeout: Timeout) -> Any:
        return self._send("GET", _deployments(namespace) + f"/{_part(name)}", [], timeout)

    def delete_deployment(
        self, name: str, namespace: str, propagation_policy: str, timeout: Timeout
    ) -> Any:
        query: Query = [("propagationPolicy", propagation_policy)]
        return self._send("DELETE", _deployments(namespace) + f"/{_part(name)}", query, timeout)

    def list_deployments(
        self, namespace: str, label_selector: str, timeout: Timeout, **watch: Any
    ) -> Any:
        query = [("labelSelector", label_selector), *_watch_query(**watch)]
        return self._send("GET", _deployments(namespace), query, timeout)

    def list_pods(self, namespace: str, label_selector: str, timeout: Timeout, **watch: Any) -> Any:
        query = [("labelSelector", label_selector), *_watch_query(**watch)]
        return self._send("GET", _pods(namespace), query, timeout)

    def read_pod(self, name: str, namespace: str, timeout: Timeout) -> Any:
        return self._send("GET", _pods(namespace) + f"/{_part(name)}", [], timeout)

    def read_pod_log(
        self,
        name: str,
        namespace: str,
        container: str,
        tail_lines: int,
        previous: bool,
        limit_bytes: int,
        timeout: Timeout,
    ) -> Any:
        query: Query = [
            ("container", container),
            ("limitBytes", limit_bytes),
            ("previous", previous),
            ("tailLines", tail_lines),
        ]
        return self._send("GET", _pods(namespace) + f"/{_part(name)}/log", query, timeout)

    def list_nodes(self, timeout: Timeout, **watch: Any) -> Any:
        return self._send("GET", "/api/v1/nodes", _watch_query(**watch), timeout)

    def _send(
        self,
        method: str,
        path: str,
        query: Query,
        timeout: Timeout,
        body: Any = None,
        content_type: str | None = None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if content_type == APPLY_PATCH and body is not None:
            # The client passes bytes on as they are; a dict it first walks whole to sanitize,
            # then serializes anyway: about half of its own time for an apply. JSON is YAML.
            body = json.dumps(body, separators=(",", ":")).encode()
        request = self._client.param_serialize(
            method=method,
            resource_path=path,
            query_params=query,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self._client.call_api(*request, _request_timeout=timeout)

        # The client raises refusals itself only when it reads the body for its models.
        if not 200 <= response.status <= 299:
            response.read()
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return response.response


def _watch_query(
    watch: bool = False,
    resource_version: str | None = None,
    allow_watch_bookmarks: bool = False,
    timeout_seconds: int | None = None,
) -> Query:
    """The query of a list that turns into a watch from ``resource_version`` on."""
    if not watch:
        return []
    query: Query = [("watch", True), ("allowWatchBookmarks", allow_watch_bookmarks)]
    if resource_version is not None:
        query.append(("resourceVersion", resource_version))
    if timeout_seconds is not None:
        query.append(("timeoutSeconds", timeout_seconds))
    return query


def _part(name: str) -> str:
    # Object names are DNS labels; quoting keeps any other value from changing the path.
    return quote(name, safe="")


def _deployments(namespace: str) -> str:
    return f"/apis/apps/v1/namespaces/{_part(namespace)}/deployments"


def _pods(namespace: str) -> str:
    return f"/api/v1/namespaces/{_part(namespace)}/pods"
