"""Business metrics: who calls, what goes wrong for whom, what the models answer.

Label values stay bounded, because every new value is a new series kept forever: the
client is an API key's id (a handful, from the settings) or ``anonymous``; a predicted
class outside the model's label list counts as ``other``; feedback coverage is read from
the prediction log at scrape time rather than counted here, so that it sees every worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from utils.monitoring import queries
from utils.monitoring.records import PredictionRecord

ANONYMOUS = "anonymous"
OTHER = "other"


class _CoverageCollector(Collector):
    def __init__(self, engine: sa.Engine, models: BusinessMetrics) -> None:
        self.engine = engine
        self.models = models

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "model_feedback_coverage",
            "Share of logged successful predictions that received feedback",
            labels=["model", "version"],
        )
        for model, version in sorted(self.models.known):
            try:
                share = queries.feedback_coverage(self.engine, model, version)
            except sa.exc.SQLAlchemyError:
                continue
            if share is not None:
                family.add_metric([model, version], share)
        yield family


class BusinessMetrics:
    """Requests and errors per client, predictions per class, feedback coverage."""

    def __init__(self, registry: CollectorRegistry, *, engine: sa.Engine | None = None) -> None:
        self.client_requests = Counter(
            "client_requests",
            "Inference requests per client (API key id) and outcome",
            ["client", "model", "outcome"],
            registry=registry,
        )
        self.predictions = Counter(
            "predictions_by_class",
            "Rows predicted per model version and predicted class",
            ["model", "version", "label"],
            registry=registry,
        )
        self._classes: dict[tuple[str, str], frozenset[str]] = {}
        self._children: dict[tuple[str, ...], Any] = {}
        self.known: set[tuple[str, str]] = set()
        self._models: set[str] = set()
        if engine is not None:
            registry.register(_CoverageCollector(engine, self))

    def watch(self, model: str, version: str, labels: Sequence[str]) -> None:
        """Declare a served version and its class names (the only label values allowed)."""
        self._classes[(model, version)] = frozenset(labels)
        self.known.add((model, version))
        self._models.add(model)

    def observe(self, record: PredictionRecord) -> None:
        """Count one request (a few dict lookups and counter increments)."""
        outcome = "ok" if record.status < 400 else ("refused" if record.status < 500 else "error")
        client = record.client or ANONYMOUS
        model = record.model if record.model in self._models else OTHER
        key = ("c", client, model, outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.client_requests.labels(*key[1:])
        child.inc()
        if record.labels is None or record.status != 200:
            return
        classes = self._classes.get((record.model, record.version), frozenset())
        for label in record.labels:
            name = label if label in classes else OTHER
            ckey = ("p", record.model, record.version, name)
            counter = self._children.get(ckey)
            if counter is None:
                counter = self._children[ckey] = self.predictions.labels(*ckey[1:])
            counter.inc()
