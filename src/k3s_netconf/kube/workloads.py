"""Changes to the cluster: apps applied, restarted and deleted as Deployments, logs read.

Every change is a single request that states the whole wanted object (server-side apply) or
one field (the restart annotation), so nothing is read, modified and written back: there is
no window in which another client's change could be lost. Host-path volumes must have been
checked with ``hostpaths.check_host_paths`` before ``apply``; the settings that hold the
allowed roots live with the caller.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from kubernetes.client import ApiClient

from k3s_netconf import errors
from k3s_netconf.desired import App
from k3s_netconf.kube import failures, manifests
from k3s_netconf.kube.connection import read_body, server_address
from k3s_netconf.kube.endpoints import APPLY_PATCH, Endpoints
from k3s_netconf.kube.paths import app_path
from k3s_netconf.settings import KubernetesSettings

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/strategic-merge-patch+json"

# Field manager of the restart annotation: a manager apart from the one that applies the
# app, so that the next apply leaves the annotation alone instead of restarting again.
RESTART_MANAGER = f"{manifests.MANAGER}-restart"

# Log reads stop here, whatever the line count: the text travels in one NETCONF reply.
LOG_LIMIT_BYTES = 1024 * 1024

# How often ``delete`` looks for remaining Pods while it waits for them to go.
DELETE_POLL_SECONDS = 0.25

# Apps named in one label selector while waiting for Pods to go: names are DNS labels of up
# to 63 characters, so a list's URL stays within a few kilobytes however many apps a commit
# deletes.
SELECTOR_APPS = 100


class Workloads:
    """The apps of one namespace, each a Deployment carrying the plugin's labels."""

    def __init__(self, api_client: ApiClient, settings: KubernetesSettings) -> None:
        self.namespace = settings.namespace
        self._settings = settings
        self._server = server_address(api_client)
        self._api = Endpoints(api_client)

    def ensure_namespace(self) -> None:
        body = manifests.namespace_manifest(self.namespace)
        self._json(
            f"creating the namespace {self.namespace!r}",
            self._api.patch_namespace,
            self.namespace,
            body=body,
            field_manager=manifests.MANAGER,
            content_type=APPLY_PATCH,
        )
        logger.info("Applied the namespace %r.", self.namespace)

    def apply(self, app: App) -> None:
        """Make the app's Deployment match ``app``; unchanged apps stay untouched."""
        applied = self._json(
            f"applying the Deployment {app.name!r}",
            self._api.patch_deployment,
            app.name,
            self.namespace,
            body=manifests.deployment(app, self.namespace),
            field_manager=manifests.MANAGER,
            force=True,
            content_type=APPLY_PATCH,
            path=app_path(app.name),
        )

        generation = (applied or {}).get("metadata", {}).get("generation")
        logger.info(
            "Applied the Deployment %r with %d replica(s), generation %s.",
            app.name,
            app.running_replicas,
            generation,
        )

    def delete(self, name: str) -> None:
        """Delete the app's Deployment, then wait until its last Pod is gone."""
        self.delete_deployment(name)
        lingering = self.wait_until_no_pods([name])
        if lingering:
            raise lingering[name]

    def delete_deployment(self, name: str) -> None:
        """Delete the app's Deployment; its Pods go afterwards (``wait_until_no_pods``)."""
        deleted = self._json(
            f"deleting the Deployment {name!r}",
            self._api.delete_deployment,
            name,
            self.namespace,
            propagation_policy="Background",
            missing_ok=True,
        )
        if deleted is not None:
            logger.info("Deleted the Deployment %r.", name)

    def wait_until_no_pods(self, apps: Collection[str]) -> dict[str, errors.OperationFailed]:
        """Wait until no Pod of these apps is left; the error of each app whose Pods stayed.

        Every poll lists the Pods of all the apps at once, so that deleting many apps costs a
        few lists per poll rather than one per app.
        """
        started = time.monotonic()
        deadline = started + self._settings.delete_timeout
        waiting = set(apps)
        while True:
            try:
                remaining = self._pods_of_apps(waiting)
            except errors.NetconfError as e:
                # An API server busy with the deletions may fail a list for a moment (HTTP 504
                # "Too large resource version"): that says nothing of the Pods, so ask again.
                if not failures.is_server_failure(e.__cause__) or time.monotonic() >= deadline:
                    raise
                logger.debug("Listing the Pods of deleted apps failed (%s); asking again.", e)
                time.sleep(DELETE_POLL_SECONDS)
                continue
            waiting = set(remaining)
            if not waiting:
                logger.debug(
                    "The Pods of %d app(s) were gone after %.1f s.",
                    len(apps),
                    time.monotonic() - started,
                )
                return {}
            if time.monotonic() >= deadline:
                return {app: self._pods_stayed(app, pods) for app, pods in remaining.items()}
            time.sleep(DELETE_POLL_SECONDS)

    def restart(self, name: str) -> None:
        """Replace the app's Pods with new ones, as ``kubectl rollout restart`` does."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {
            "spec": {
                "template": {"metadata": {"annotations": {manifests.RESTARTED_AT_ANNOTATION: now}}}
            }
        }
        patched = self._json(
            f"restarting the app {name!r}",
            self._api.patch_deployment,
            name,
            self.namespace,
            body=patch,
            field_manager=RESTART_MANAGER,
            content_type=MERGE_PATCH,
            missing_ok=True,
        )
        if patched is None:
            raise self._no_deployment(name)
        logger.info("Restarted the app %r.", name)

    def logs(
        self, app: str, lines: int, previous: bool = False, pod: str | None = None
    ) -> tuple[str, str]:
        """The last ``lines`` lines of the app's container: (Pod name, text).

        Without ``pod`` the newest Pod of the app is read. ``previous`` reads the run before
        the current one, where a crashed container left its last words.
        """
        pod_name = pod if pod is not None else self._newest_pod(app)
        if pod is not None:
            self._check_pod_of_app(pod, app)

        raw = self._request(
            f"reading the logs of Pod {pod_name!r}",
            self._api.read_pod_log,
            pod_name,
            self.namespace,
            container=app,
            tail_lines=lines,
            previous=previous,
            limit_bytes=LOG_LIMIT_BYTES,
            refusal=errors.OperationFailed,
        )
        return pod_name, _log_text(raw or b"")

    def owned_apps(self) -> set[str]:
        """The names of the Deployments the plugin created in its namespace."""
        listed = self._json(
            "listing the Deployments",
            self._api.list_deployments,
            self.namespace,
            label_selector=manifests.OWNED_SELECTOR,
        )
        return {item["metadata"]["name"] for item in (listed or {}).get("items", [])}

    def get_manifest(self, name: str) -> dict[str, Any] | None:
        """The app's Deployment as the API server holds it, or None when there is none."""
        found: dict[str, Any] | None = self._json(
            f"reading the Deployment {name!r}",
            self._api.read_deployment,
            name,
            self.namespace,
            missing_ok=True,
        )
        return found

    def _pods_stayed(self, app: str, pods: list[str]) -> errors.OperationFailed:
        return errors.OperationFailed(
            f"the Pods of app {app!r} did not stop within "
            f"{self._settings.delete_timeout:g} s: {', '.join(sorted(pods))}"
        )

    def _pods_of_apps(self, apps: Collection[str]) -> dict[str, list[str]]:
        """The names of the Pods left of each app that has any."""
        found: dict[str, list[str]] = {}
        ordered = sorted(apps)
        for start in range(0, len(ordered), SELECTOR_APPS):
            chunk = ordered[start : start + SELECTOR_APPS]
            doing = (
                f"listing the Pods of app {chunk[0]!r}"
                if len(chunk) == 1
                else f"listing the Pods of {len(chunk)} apps"
            )
            listed = self._json(
                doing,
                self._api.list_pods,
                self.namespace,
                label_selector=manifests.apps_selector(chunk),
            )
            for pod in (listed or {}).get("items", []):
                app = pod["metadata"].get("labels", {}).get(manifests.NAME_LABEL)
                found.setdefault(app, []).append(pod["metadata"]["name"])
        return found

    def _pods_of(self, app: str) -> list[dict[str, Any]]:
        listed = self._json(
            f"listing the Pods of app {app!r}",
            self._api.list_pods,
            self.namespace,
            label_selector=manifests.app_selector(app),
        )
        items: list[dict[str, Any]] = (listed or {}).get("items", [])
        return items

    def _newest_pod(self, app: str) -> str:
        # A Pod being deleted is read only when no other is left: it is on its way out.
        pods = sorted(
            self._pods_of(app),
            key=lambda p: (
                "deletionTimestamp" not in p["metadata"],
                p["metadata"].get("creationTimestamp", ""),
                p["metadata"]["name"],
            ),
        )
        if not pods:
            raise errors.OperationFailed(f"the app {app!r} has no Pod to read logs from")
        return str(pods[-1]["metadata"]["name"])

    def _check_pod_of_app(self, pod: str, app: str) -> None:
        found = self._json(
            f"reading the Pod {pod!r}",
            self._api.read_pod,
            pod,
            self.namespace,
            missing_ok=True,
        )
        pod_labels = (found or {}).get("metadata", {}).get("labels", {})
        if any(pod_labels.get(key) != value for key, value in manifests.labels(app).items()):
            raise errors.InvalidValue(f"the app {app!r} has no Pod named {pod!r}")

    def _no_deployment(self, name: str) -> errors.OperationFailed:
        return errors.OperationFailed(
            f"the app {name!r} has no Deployment in the namespace {self.namespace!r}"
        )

    def _json(self, doing: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        raw = self._request(doing, call, *args, **kwargs)
        return None if raw is None else json.loads(raw)

    def _request(
        self,
        doing: str,
        call: Callable[..., Any],
        *args: Any,
        path: str | None = None,
        missing_ok: bool = False,
        refusal: type[errors.NetconfError] = errors.InvalidValue,
        **kwargs: Any,
    ) -> bytes | None:
        """The body of the answer; None for a missing object when ``missing_ok``."""
        try:
            response = call(*args, timeout=self._settings.request_timeout, **kwargs)
            return read_body(response)
        except failures.CLIENT_ERRORS as e:
            if missing_ok and failures.is_not_found(e):
                return None
            raise failures.translate(e, self._server, doing, path, refusal) from e


def _log_text(raw: bytes) -> str:
    # A read cut at the byte limit ends in the middle of a line; that part line is dropped.
    if len(raw) >= LOG_LIMIT_BYTES and b"\n" in raw:
        raw = raw[: raw.rindex(b"\n") + 1]
    return raw.decode("utf-8", errors="replace")
