"""The one object the data plane talks to: log, drift, accuracy and business metrics.

Per process::

    monitor = ModelMonitor(registry, MonitoringConfig(prediction_log=PredictionLogConfig(
        url=settings.prediction_log_url)))
    monitor.watch("digits", "1", profile=manifest.reference_profile, labels=manifest.labels)
    ...
    monitor.observe(PredictionRecord(...))      # once per request, success or refusal
    DataPlane(settings, observers=[monitor.observe_outcome])   # ... or let the plane call it
    monitor.submit_feedback([{"request_id": "...", "label": "3"}])
    ...
    monitor.close()                             # at shutdown: every accepted record written

:meth:`ModelMonitor.observe` costs a few microseconds (measured in ``docs/monitoring.md``):
a deque append for the drift window, two counter increments, a queue append for the log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from utils.monitoring import queries
from utils.monitoring.business import BusinessMetrics, Counted
from utils.monitoring.drift_monitor import DriftConfig, DriftMonitor
from utils.monitoring.log_process import Shipment, ship_record
from utils.monitoring.outcomes import (
    NO_ANSWERS,
    decode_groups,
    outcome_fields,
    record_of,
    records_of,
)
from utils.monitoring.prediction_log import Durability, PredictionLog, PredictionLogConfig
from utils.monitoring.queries import FeedbackResult
from utils.monitoring.records import PredictionRecord

if TYPE_CHECKING:
    from utils.deployment_helpers.observation import RequestOutcome
    from utils.deployment_helpers.served_model import ServedModel

PENDING_BATCH: Final[int] = 64
"""Requests decoded together without a log (the windows lag by fewer than this between
scrapes; a scrape, a page or a report takes them in first)."""

ServedSource = Callable[[], "Iterable[ServedModel]"]
"""Returns the versions in service now (``plane.repository.loaded``)."""


@dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    prediction_log: PredictionLogConfig | None = field(default_factory=PredictionLogConfig)
    """None: no prediction log (no feedback, no cross-worker drift)."""
    drift: DriftConfig = field(default_factory=DriftConfig)
    drift_from_log: bool = True
    """Read drift windows from the log (every worker's traffic) rather than this process's
    memory; ignored without a log."""


class ModelMonitor:
    """Prediction log + drift monitor + business metrics behind one per-request call."""

    def __init__(self, registry: CollectorRegistry, config: MonitoringConfig | None = None) -> None:
        self.config = config or MonitoringConfig()
        self._pending: list[RequestOutcome] = []
        self._pending_lock = threading.Lock()
        registry.register(_PendingFirst(self))  # before the monitor's own metrics
        self.log: PredictionLog | None = None
        if self.config.prediction_log is not None:
            self.log = PredictionLog(self.config.prediction_log, registry=registry)
        engine = self.log.engine if self.log is not None else None
        self.drift = DriftMonitor(
            registry,
            config=self.config.drift,
            engine=engine if self.config.drift_from_log else None,
        )
        if self.log is not None:
            self.log.featurizer = self.drift.features_of
        self.business = BusinessMetrics(registry, engine=engine)
        self._deferred = self._defers()
        if self.log is not None and self._deferred:
            self.log.converter = self._as_records
            self.log.packer = self._pack
        self._served: ServedSource | None = None
        self._watched: set[tuple[str, str]] = set()
        self._watching = threading.Lock()  # request threads and the scrape may both watch

    def _defers(self) -> bool:
        """Whether outcomes are decoded in the log's writer rather than on the request
        path: with a log read back for drift, every request logged (no sampling) and the
        writer thread of the ``fast`` mode. The request then pays for a queue append;
        business metrics are counted by the writer, a moment later."""
        log = self.config.prediction_log
        return (
            log is not None
            and self.config.drift_from_log
            and log.sample_rate == 1.0
            and log.durability is Durability.FAST
        )

    def _as_records(self, pending: list[Any]) -> list[PredictionRecord]:
        """The writer's converter: queued outcomes become records (decoded in one pass
        per model version) and are counted in the business metrics; records handed to
        :meth:`observe` were counted there. The order is kept."""
        outcomes = [(i, p) for i, p in enumerate(pending) if not isinstance(p, PredictionRecord)]
        converted = records_of([p for _, p in outcomes])
        out = list(pending)
        for (index, _), record in zip(outcomes, converted, strict=True):
            out[index] = record
        self.business.observe_many(converted)
        return out

    def _pack(self, pending: list[Any]) -> Shipment:
        """The log process's batch (see ``log_process.py``): outcomes decoded here in one
        pass per model version, counted in the business metrics (records handed to
        :meth:`observe` were counted there), their drift features computed from the
        profiles watched here; building rows and inserting is the log process's work."""
        outcomes = [p for p in pending if not isinstance(p, PredictionRecord)]
        shipment = Shipment([], [], [], [])
        where: dict[int, tuple[int, int, int]] = {}
        predicted: list[tuple[str, str, Sequence[str]]] = []
        for group in decode_groups(outcomes):
            served = group.served
            name, version = served.name, str(served.version)
            slot = len(shipment.inputs)
            shipment.inputs.append(group.inputs)
            shipment.features.append(self.drift.features_for(name, version, group.inputs))
            logged = group.logged
            shipment.answers.append((logged.labels, logged.confidences, logged.values))
            if logged.labels is not None:
                predicted.append((name, version, logged.labels))
            for index, (start, stop) in zip(group.members, group.bounds, strict=True):
                where[index] = (slot, start, stop)
        counted: list[Counted] = []
        position = 0
        for item in pending:
            if isinstance(item, PredictionRecord):
                self._ship_record(shipment, item)
                continue
            found = where.get(position)
            position += 1
            if found is None:
                record = record_of(item)
                counted.append(
                    (record.status, record.client, record.model, record.version, record.labels)
                )
                self._ship_record(shipment, record)
                continue
            shipment.fields.append(outcome_fields(item, NO_ANSWERS))
            shipment.rows.append(found)
            counted.append((item.status, item.context.client, item.model, item.version, None))
        self.business.count(counted, predicted)
        return shipment

    def _ship_record(self, shipment: Shipment, record: PredictionRecord) -> None:
        inputs = record.inputs or {}
        features = self.drift.features_for(record.model, record.version, inputs)
        ship_record(shipment, record, features)

    def follow(self, served: ServedSource) -> None:
        """Watch every version ``served()`` lists, and only those: checked at each scrape
        (so /metrics of every worker shows every model, with traffic or not) and when a
        request names a version not watched yet (a hot reload). No model is wired by hand.
        """
        self._served = served
        self.drift.before_refresh = self.sync

    def sync(self) -> None:
        """Watch the versions in service that are not watched; forget those that left."""
        self.observe_pending()
        if self._served is None:
            return
        current = {(m.name, str(m.version)): m for m in self._served()}
        for served in current.values():
            self.watch_served(served)
        with self._watching:
            gone = self._watched - current.keys()
        for key in gone:
            self.forget(*key)

    def watch_served(self, served: ServedModel) -> None:
        """Watch one served version with its manifest's reference profile and classes,
        unless it is watched already (watching again would empty its window)."""
        key = (served.name, str(served.version))
        with self._watching:
            if key in self._watched:
                return
            self._watched.add(key)
        manifest = served.manifest
        self.watch(*key, profile=manifest.reference_profile or None, labels=manifest.labels)

    def watch(
        self,
        model: str,
        version: str,
        *,
        profile: Mapping[str, Any] | None,
        labels: Sequence[str] = (),
        input_name: str | None = None,
    ) -> None:
        """Watch a version that was loaded (call again after a reload: it resets)."""
        self.drift.watch(model, version, profile, input_name=input_name)
        self.business.watch(model, version, labels)
        with self._watching:
            self._watched.add((model, version))

    def forget(self, model: str, version: str) -> None:
        """A version left service."""
        self.drift.forget(model, version)
        with self._watching:
            self._watched.discard((model, version))

    def observe(self, record: PredictionRecord) -> None:
        """Once per request, after the answer is known (successes and refusals)."""
        self.drift.observe(record)
        self.business.observe(record)
        if self.log is not None:
            self.log.record(record)

    def observe_outcome(self, outcome: RequestOutcome) -> None:
        """The data plane's observer: ``DataPlane(..., observers=[monitor.observe_outcome])``."""
        served = outcome.served
        if served is not None and (outcome.model, outcome.version) not in self._watched:
            self.watch_served(served)
        if self.log is not None:
            if self._deferred:
                self.log.record(outcome)  # decoded, counted and written by the writer
            else:
                self.observe(record_of(outcome))  # sampled, or committed before answering
            return
        # No log: drift windows and counters in memory, updated a batch at a time (one
        # decoding pass for PENDING_BATCH requests: 29 us a request one by one, measured).
        with self._pending_lock:
            self._pending.append(outcome)
            full = len(self._pending) >= PENDING_BATCH
        if full:
            self.observe_pending()

    def observe_pending(self) -> None:
        """Take in the requests waiting for a batch (done before every scrape, page and
        report, so none of them ever shows a request missing)."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        records = records_of(pending)
        self.business.observe_many(records)
        for record in records:
            self.drift.observe(record)

    def submit_feedback(
        self, items: Sequence[Mapping[str, Any]], *, served: ServedModel | None = None
    ) -> FeedbackResult:
        """Ground truth by request id; see :func:`utils.monitoring.queries.submit_feedback`.

        ``served``: the model the feedback is for (what ``POST
        /v2/models/{name}/feedback`` and the Flask ``/api/feedback`` pass): every id must
        then be a logged request of it, labels one of its classes (values for a model
        without classes), or nothing is stored.

        :raise BadInput: a malformed item or wrong label, or no prediction log configured.
        :raise RequestsNotLogged: with ``served``, an id the log does not hold for it.
        """
        if self.log is None:
            from utils.errors import BadInput

            raise BadInput(
                "feedback needs the prediction log, which is switched off "
                "(API_PREDICTION_LOG / WEB_PREDICTION_LOG=false)"
            )
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            from utils.errors import BadInput

            raise BadInput('feedback is a JSON list: [{"request_id": "...", "label": "3"}]')
        if served is None:
            return self.log.submit_feedback(items)
        return self.log.submit_feedback(items, model=served.name, labels=served.manifest.labels)

    def status(self) -> list[dict[str, Any]]:
        """Drift verdicts (per feature too), live and estimated accuracy and feedback
        coverage of every watched version, JSON-ready: the same figures as /metrics, for a
        page. Read from the log when there is one (every worker's traffic; this process's
        queued records are written first, so a page shows the request it just served)."""
        if self.log is not None:
            self.log.flush(timeout_s=2.0)
        self.observe_pending()
        self.drift.refresh()
        out: list[dict[str, Any]] = []
        for (model, version), watched in sorted(self.drift.snapshot().items()):
            report = watched.report
            coverage = None
            if self.log is not None:
                try:
                    coverage = queries.feedback_coverage(self.log.engine, model, version)
                except sa.exc.SQLAlchemyError:
                    coverage = None
            entry: dict[str, Any] = {
                "model": model,
                "version": version,
                "profiled": watched.profile is not None,
                "live_accuracy": _accuracy(watched.live),
                "estimated_accuracy": _accuracy(watched.estimated),
                "feedback_coverage": coverage,
                "drift": None,
            }
            if report is not None:
                entry["drift"] = {
                    "samples": report.samples,
                    "min_samples": report.min_samples,
                    "inputs_score": report.inputs_score,
                    "inputs_drifted": report.inputs_drifted,
                    "predictions_score": report.predictions_score,
                    "predictions_drifted": report.predictions_drifted,
                    "psi_mean": report.psi_mean,
                    "features": [
                        {"name": f.name, "psi": f.psi, "drifted": f.drifted, "test": str(f.test)}
                        for f in report.features
                    ],
                }
            out.append(entry)
        return out

    def close(self, timeout_s: float = 30.0) -> None:
        """Write every accepted record, then release the database."""
        if self.log is not None:
            self.log.close(timeout_s)


class _PendingFirst(Collector):
    """Registered before the monitor's metrics: a scrape takes in waiting requests first."""

    def __init__(self, monitor: ModelMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterable[Metric]:
        self.monitor.observe_pending()
        return ()


def _accuracy(accuracy: queries.Accuracy | None) -> dict[str, Any] | None:
    if accuracy is None or accuracy.value is None:
        return None
    return {"value": round(accuracy.value, 4), "samples": accuracy.samples}
