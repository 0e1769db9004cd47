"""Prometheus metrics of the serving core, on a registry each app owns.

A global registry would make every test that builds an app collide with the previous one
(MLServer needs a cleanup fixture for that); here each app builds its own
:class:`ServingMetrics`. Labelled children are cached in dicts: ``labels()`` costs a
lock and a tuple build per call, which shows at thousands of requests per second.

Names follow Prometheus' conventions (base units, ``_total`` counters, ``_seconds``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Sub-millisecond buckets: a tiny model answers in well under 1 ms."""

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

QueueDepths = Callable[[], Iterable[tuple[str, str, int]]]
"""Returns (model, version, waiting requests) for every model with a queue."""


class _QueueDepthCollector(Collector):
    """Reads queue depths at scrape time, so the hot path does no gauge bookkeeping."""

    def __init__(self, source: QueueDepths) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "inference_queue_depth",
            "Requests waiting in a model's batching queue",
            labels=["model", "version"],
        )
        for model, version, depth in self.source():
            family.add_metric([model, version], depth)
        yield family


class ServingMetrics:
    """Request latency and count per model/version/status, batch sizes, queue depth, loads."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.request_duration = Histogram(
            "inference_request_duration_seconds",
            "Time from receiving an inference request to its answer",
            ["model", "version", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.requests = Counter(
            "inference_requests",
            "Inference requests answered, by model, version and HTTP status",
            ["model", "version", "status"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "inference_batch_size",
            "Rows per onnxruntime call (dynamic batching merges requests)",
            ["model", "version"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.load_seconds = Gauge(
            "model_load_duration_seconds",
            "Time to verify, open and warm up a model version at its last load",
            ["model", "version"],
            registry=self.registry,
        )
        self.model_ready = Gauge(
            "model_ready",
            "1 when a model version is in service, else 0",
            ["model", "version"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "http_requests",
            "Every HTTP request answered, by method and status",
            ["method", "status"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self._request_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._batch_children: dict[tuple[str, str], Any] = {}
        self._http_children: dict[tuple[str, str], Any] = {}

    def watch_queues(self, source: QueueDepths) -> None:
        """Expose ``inference_queue_depth`` from ``source`` at every scrape."""
        self.registry.register(_QueueDepthCollector(source))

    def observe_request(self, model: str, version: str, status: int, seconds: float) -> None:
        """Count one inference request and record its latency."""
        key = (model, version, str(status))
        children = self._request_children.get(key)
        if children is None:
            children = (self.request_duration.labels(*key), self.requests.labels(*key))
            self._request_children[key] = children
        children[0].observe(seconds)
        children[1].inc()

    def observe_batch(self, model: str, version: str, rows: int) -> None:
        """Record the number of rows of one onnxruntime call."""
        key = (model, version)
        child = self._batch_children.get(key)
        if child is None:
            child = self._batch_children[key] = self.batch_size.labels(*key)
        child.observe(rows)

    def observe_http(self, method: str, status: int) -> None:
        """Count one HTTP answer (every route, health checks included).

        Methods outside the standard set count as ``OTHER``: the label value comes from
        the client, and unbounded label values would grow the registry without end.
        """
        key = (method if method in _METHODS else "OTHER", str(status))
        child = self._http_children.get(key)
        if child is None:
            child = self._http_children[key] = self.http_requests.labels(*key)
        child.inc()

    def set_model_loaded(self, model: str, version: str, seconds: float) -> None:
        """Record a successful load."""
        self.load_seconds.labels(model, version).set(seconds)
        self.model_ready.labels(model, version).set(1)

    def set_model_unloaded(self, model: str, version: str) -> None:
        """Record a version leaving service."""
        self.model_ready.labels(model, version).set(0)

    def render(self) -> bytes:
        """The registry in Prometheus' text exposition format."""
        return generate_latest(self.registry)
