"""The Prometheus endpoint: the daemon's own figures and each app's restarts, CPU and memory.

Imported only when ``[metrics] enabled`` is true, so that prometheus-client costs an idle
daemon nothing otherwise. The service and the commits are subclassed to count what passes
through them; the per-app figures are read from the watch cache and the last usage sample when
Prometheus scrapes, so a scrape costs no request to the API server either.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from lxml import etree
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from k3s_netconf import errors
from k3s_netconf.commits import Commits
from k3s_netconf.service import Service, Session
from k3s_netconf.settings import MetricsSettings

logger = logging.getLogger(__name__)

PREFIX = "k3s_netconf"

# Latency buckets in seconds: a get answers in milliseconds, a commit that deletes an app may
# wait for its Pods for a minute.
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0)


class Figures:
    """The daemon's own metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sessions = Gauge(
            f"{PREFIX}_sessions", "NETCONF sessions open now.", registry=self.registry
        )
        self.sessions_ended = Counter(
            f"{PREFIX}_sessions_ended", "NETCONF sessions that ended.", registry=self.registry
        )
        self.rpcs = Counter(
            f"{PREFIX}_rpcs",
            "RPCs handled, by operation and result (ok or the error-tag).",
            ["operation", "result"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_rpc_duration_seconds",
            "Time to handle an RPC, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.commits = Counter(
            f"{PREFIX}_commits",
            "Commits, by result (ok or the error-tag).",
            ["result"],
            registry=self.registry,
        )
        self.reconcile_errors = Counter(
            f"{PREFIX}_reconcile_errors",
            "Attempts to reconcile the cluster that failed.",
            registry=self.registry,
        )


class MeteredCommits(Commits):
    figures: Figures

    def edit(self, config: etree._Element, default_operation: str, session_id: int) -> None:
        with self._counted():
            super().edit(config, default_operation, session_id)

    def commit(self, tree: etree._Element, session_id: int) -> None:
        with self._counted():
            super().commit(tree, session_id)

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        # Every refusal counts, from the model's checks to a failed step.
        try:
            yield
        except errors.NetconfError as e:
            self.figures.commits.labels(result=e.tag).inc()
            raise
        self.figures.commits.labels(result="ok").inc()

    def reconcile(self) -> None:
        try:
            super().reconcile()
        except errors.NetconfError:
            self.figures.reconcile_errors.inc()
            raise


class MeteredService(Service):
    """``Service`` that counts sessions, RPCs and their latency, and commits."""

    commits_class = MeteredCommits

    commits: MeteredCommits

    def __init__(self, settings: Any, figures: Figures) -> None:
        super().__init__(settings)
        self.figures = figures
        # Nothing is committed before start(), so the commits hear of the figures in time.
        self.commits.figures = figures
        self._open: set[int] = set()
        self._open_guard = threading.Lock()

    def handle(self, session: Session, operation: etree._Element) -> Any:
        self._opened(session)
        name = etree.QName(operation).localname
        started = time.monotonic()
        try:
            reply = super().handle(session, operation)
        except errors.NetconfError as e:
            self.figures.rpcs.labels(operation=name, result=e.tag).inc()
            raise
        finally:
            self.figures.latency.labels(operation=name).observe(time.monotonic() - started)
        self.figures.rpcs.labels(operation=name, result="ok").inc()
        return reply

    def session_ended(self, session: Session) -> None:
        super().session_ended(session)
        with self._open_guard:
            self._open.discard(session.session_id)
            self.figures.sessions.set(len(self._open))
        self.figures.sessions_ended.inc()

    def _opened(self, session: Session) -> None:
        # A session counts as open from its first rpc: the service hears of nothing earlier.
        with self._open_guard:
            if session.session_id not in self._open:
                self._open.add(session.session_id)
                self.figures.sessions.set(len(self._open))


class AppCollector(Collector):
    """Per-app figures and the age of the watch cache, read when Prometheus scrapes."""

    def __init__(self, service: Service) -> None:
        self._cluster = service.commits.cluster

    def collect(self) -> Iterator[GaugeMetricFamily]:
        restarts = _family("app_pod_restarts", "Container restarts of the app's Pods.")
        cpu = _family("app_cpu_millicores", "CPU in use by the app's Pods, in millicores.")
        memory = _family("app_memory_bytes", "Memory in use by the app's Pods, in bytes.")
        for name, state in sorted(self._cluster.app_states().items()):
            restarts.add_metric([name], sum(p.restart_count for p in state.pods))
            if state.cpu_usage is not None:
                cpu.add_metric([name], state.cpu_usage)
            if state.memory_usage is not None:
                memory.add_metric([name], state.memory_usage)
        yield from (restarts, cpu, memory)

        age = GaugeMetricFamily(
            f"{PREFIX}_watch_cache_age_seconds",
            "Seconds since the watch cache last heard from the API server.",
        )
        cache = self._cluster.cache
        if cache is not None and cache.heard_at is not None:
            age.add_metric([], time.monotonic() - cache.heard_at)
        yield age


def _family(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=["app"])


class Endpoint:
    """The HTTP listener Prometheus scrapes."""

    def __init__(self, settings: MetricsSettings, service: Service, figures: Figures) -> None:
        figures.registry.register(AppCollector(service))
        self._server, self._thread = start_http_server(
            settings.port, addr=settings.address, registry=figures.registry
        )
        self.port = self._server.server_port
        logger.info(
            "Serving metrics for Prometheus on address=%s port=%d.", settings.address, self.port
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
