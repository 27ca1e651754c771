"""A validated configuration, as yangson's raw value with defaults, turned into typed values."""

from __future__ import annotations

from typing import Any

from k3s_netconf import desired
from k3s_netconf.schema import APPS_MODULE

Raw = dict[str, Any]


def config(raw: Raw) -> desired.Config:
    images = [_image(i) for i in _entries(raw, "images", "image")]
    apps = [_app(a) for a in _entries(raw, "apps", "app")]
    rules = [_rule(r) for r in _entries(raw, "port-forwarding", "rule")]
    return desired.Config(
        images={i.name: i for i in images},
        apps={a.name: a for a in apps},
        rules={(r.protocol, r.external_port): r for r in rules},
    )


def _entries(raw: Raw, container: str, name: str) -> list[Raw]:
    return raw.get(f"{APPS_MODULE}:{container}", {}).get(name, [])


def _image(raw: Raw) -> desired.Image:
    return desired.Image(name=raw["name"], archive=raw["archive"], sha256=raw.get("sha256"))


def _app(raw: Raw) -> desired.App:
    return desired.App(
        name=raw["name"],
        image=raw["image"],
        enabled=raw["enabled"],
        replicas=raw["replicas"],
        command=tuple(raw.get("command", ())),
        args=tuple(raw.get("args", ())),
        env=tuple((e["name"], e["value"]) for e in raw.get("env", ())),
        ports=tuple(
            desired.Port(p["name"], p["container-port"], p["protocol"]) for p in raw.get("port", ())
        ),
        resources=_resources(raw.get("resources", {})),
        volumes=tuple(
            desired.Volume(v["name"], v["host-path"], v["mount-path"], v["read-only"])
            for v in raw.get("volume", ())
        ),
        liveness_probe=_probe(raw.get("liveness-probe")),
        readiness_probe=_probe(raw.get("readiness-probe")),
        termination_grace_period=raw["termination-grace-period"],
    )


def _resources(raw: Raw) -> desired.Resources:
    def number(name: str) -> int | None:
        # uint64 values come as strings in yangson's JSON encoding (RFC 7951).
        return int(raw[name]) if name in raw else None

    return desired.Resources(
        cpu_request=number("cpu-request"),
        cpu_limit=number("cpu-limit"),
        memory_request=number("memory-request"),
        memory_limit=number("memory-limit"),
        ephemeral_storage_limit=number("ephemeral-storage-limit"),
    )


def _probe(raw: Raw | None) -> desired.Probe | None:
    if raw is None:
        return None
    http = raw.get("http-get")
    return desired.Probe(
        tcp_port=raw.get("tcp-port"),
        http_port=http["port"] if http else None,
        http_path=http["path"] if http else "/",
        exec_command=tuple(raw.get("exec-command", ())),
        initial_delay=raw["initial-delay"],
        period=raw["period"],
        timeout=raw["timeout"],
        failure_threshold=raw["failure-threshold"],
    )


def _rule(raw: Raw) -> desired.ForwardRule:
    return desired.ForwardRule(
        protocol=raw["protocol"],
        external_port=raw["external-port"],
        app=raw["app"],
        port=raw["port"],
    )
