"""Kubernetes objects for typed apps, built without any I/O.

Every function returns plain dicts ready for server-side apply. The output depends only on
the arguments and always lists the same fields in the same order, so applying an unchanged
app again changes nothing in the cluster: no new generation, no rollout.

Fields the plugin wants to hold at a safe value (``privileged``, ``hostNetwork``, ...) are
written out explicitly even where they equal the Kubernetes default: the plugin then owns
them, and a forced apply puts them back if someone else changed them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from k3s_netconf.desired import App, Port, Probe, Resources, Volume

MANAGER = "k3s-netconf"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
NAME_LABEL = "app.kubernetes.io/name"

# Selects every object the plugin created, and nothing else.
OWNED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGER}"

# The annotation ``kubectl rollout restart`` sets; using the same one keeps both tools in step.
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"

# The kubelet creates a missing folder under an allowed root (mode 0755, owned by root):
# NETCONF offers no way to make a folder on the device, so requiring it to exist would send
# operators back to a shell.
HOST_PATH_TYPE = "DirectoryOrCreate"

Manifest = dict[str, Any]


def labels(app_name: str) -> dict[str, str]:
    """The labels on every object of one app; the Deployment's selector matches them."""
    return {MANAGED_BY_LABEL: MANAGER, NAME_LABEL: app_name}


def app_selector(app_name: str) -> str:
    """A label selector for the objects (Pods above all) of one app."""
    return f"{OWNED_SELECTOR},{NAME_LABEL}={app_name}"


def apps_selector(app_names: Collection[str]) -> str:
    """A label selector for the objects of any of these apps."""
    if len(app_names) == 1:
        return app_selector(next(iter(app_names)))
    return f"{OWNED_SELECTOR},{NAME_LABEL} in ({','.join(sorted(app_names))})"


def namespace_manifest(name: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {MANAGED_BY_LABEL: MANAGER}},
    }


def deployment(app: App, namespace: str) -> Manifest:
    """The Deployment that runs ``app``; a disabled app keeps its Deployment at zero replicas."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app.name, "namespace": namespace, "labels": labels(app.name)},
        "spec": {
            "replicas": app.running_replicas,
            "selector": {"matchLabels": labels(app.name)},
            # Host ports and a single node's resources leave no room for a surge Pod.
            "strategy": {"type": "Recreate"},
            "template": {"metadata": {"labels": labels(app.name)}, "spec": pod_spec(app)},
        },
    }


def pod_spec(app: App) -> Manifest:
    spec: Manifest = {
        "containers": [container(app)],
        "terminationGracePeriodSeconds": app.termination_grace_period,
        # Apps have no business with the Kubernetes API, nor with the cluster's Services.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
    }
    if app.volumes:
        spec["volumes"] = [host_path_volume(v) for v in app.volumes]
    return spec


def container(app: App) -> Manifest:
    """The app's one container, named after the app so ``kubectl logs`` reads naturally."""
    spec: Manifest = {
        "name": app.name,
        "image": app.image,
        # The device reaches no registry: images come only from archives imported locally.
        "imagePullPolicy": "Never",
    }
    if app.command:
        spec["command"] = list(app.command)
    if app.args:
        spec["args"] = list(app.args)
    if app.env:
        spec["env"] = [{"name": name, "value": value} for name, value in app.env]
    if app.ports:
        spec["ports"] = [container_port(p) for p in app.ports]

    spec["resources"] = resources(app.resources)
    if app.volumes:
        spec["volumeMounts"] = [volume_mount(v) for v in app.volumes]
    if app.liveness_probe is not None:
        spec["livenessProbe"] = probe(app.liveness_probe)
    if app.readiness_probe is not None:
        spec["readinessProbe"] = probe(app.readiness_probe)

    spec["securityContext"] = {"privileged": False}
    return spec


def container_port(port: Port) -> Manifest:
    return {
        "name": port.name,
        "containerPort": port.container_port,
        "protocol": port.protocol.upper(),
    }


def resources(wanted: Resources) -> Manifest:
    """Requests and limits in the units Kubernetes parses: CPU in millicores, bytes as integers."""
    requests = _quantities(cpu=wanted.cpu_request, memory=wanted.memory_request)
    limits = _quantities(
        cpu=wanted.cpu_limit,
        memory=wanted.memory_limit,
        storage=wanted.ephemeral_storage_limit,
    )

    spec: Manifest = {}
    if requests:
        spec["requests"] = requests
    if limits:
        spec["limits"] = limits
    return spec


def _quantities(cpu: int | None, memory: int | None, storage: int | None = None) -> dict[str, str]:
    amounts = {
        "cpu": f"{cpu}m" if cpu is not None else None,
        "memory": str(memory) if memory is not None else None,
        "ephemeral-storage": str(storage) if storage is not None else None,
    }
    return {name: amount for name, amount in amounts.items() if amount is not None}


def host_path_volume(volume: Volume) -> Manifest:
    return {
        "name": volume.name,
        "hostPath": {"path": normalized_host_path(volume.host_path), "type": HOST_PATH_TYPE},
    }


def normalized_host_path(path: str) -> str:
    """The path without ``.`` parts and repeated or trailing slashes.

    ``..`` stays where it is: resolving it here would hide it from the API server, which
    refuses host paths that step back.
    """
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return "/" + "/".join(parts)


def volume_mount(volume: Volume) -> Manifest:
    return {"name": volume.name, "mountPath": volume.mount_path, "readOnly": volume.read_only}


def probe(check: Probe) -> Manifest:
    spec = _probe_action(check)
    spec.update(
        {
            "initialDelaySeconds": check.initial_delay,
            "periodSeconds": check.period,
            "timeoutSeconds": check.timeout,
            "failureThreshold": check.failure_threshold,
        }
    )
    return spec


def _probe_action(check: Probe) -> Manifest:
    if check.exec_command:
        return {"exec": {"command": list(check.exec_command)}}
    if check.http_port is not None:
        return {"httpGet": {"path": check.http_path, "port": check.http_port}}
    if check.tcp_port is not None:
        return {"tcpSocket": {"port": check.tcp_port}}
    raise ValueError("a probe needs a tcp port, an http port or an exec command")
