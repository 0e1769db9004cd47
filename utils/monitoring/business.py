"""Business metrics: who calls, what goes wrong for whom, what the models answer.

Label values stay bounded, because every new value is a new series kept forever: the
client is an API key's id (a handful, from the settings) or ``anonymous``; a predicted
class outside the model's label list counts as ``other``; feedback coverage is read from
the prediction log at scrape time rather than counted here, so that it sees every worker.
"""

from __future__ import annotations

import collections
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

Counted = tuple[int, str | None, str, str, Sequence[str] | None]
"""One request as the business metrics see it: (status, client, model, version, labels)."""


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
        self.observe_many((record,))

    def observe_many(self, records: Iterable[PredictionRecord]) -> None:
        """Count many requests (see :meth:`count`)."""
        self.count((r.status, r.client, r.model, r.version, r.labels) for r in records)

    def count(
        self,
        requests: Iterable[Counted],
        predicted: Iterable[tuple[str, str, Sequence[str]]] = (),
    ) -> None:
        """Count requests given as ``(status, client, model, version, labels)``: tallied
        first, then one increment per series touched (the log's writer counts a whole
        batch this way). ``predicted``: ``(model, version, labels)`` of successful rows
        whose requests are given without their labels (a decoded group's, all at once)."""
        tally: dict[tuple[str, str, str, str], int] = {}
        for name, version, decoded in predicted:
            classes = self._classes.get((name, version), frozenset())
            for label, rows in collections.Counter(decoded).items():
                ckey = ("p", name, version, label if label in classes else OTHER)
                tally[ckey] = tally.get(ckey, 0) + rows
        for status, client, name, version, labels in requests:
            outcome = "ok" if status < 400 else ("refused" if status < 500 else "error")
            model = name if name in self._models else OTHER
            key = ("c", client or ANONYMOUS, model, outcome)
            tally[key] = tally.get(key, 0) + 1
            if labels is None or status != 200:
                continue
            classes = self._classes.get((name, version), frozenset())
            for label in labels:
                ckey = ("p", name, version, label if label in classes else OTHER)
                tally[ckey] = tally.get(ckey, 0) + 1
        for key, count in tally.items():
            child = self._children.get(key)
            if child is None:
                family = self.client_requests if key[0] == "c" else self.predictions
                child = self._children[key] = family.labels(*key[1:])
            child.inc(count)
