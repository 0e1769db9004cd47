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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from utils.monitoring.business import BusinessMetrics
from utils.monitoring.drift_monitor import DriftConfig, DriftMonitor
from utils.monitoring.outcomes import record_of
from utils.monitoring.prediction_log import PredictionLog, PredictionLogConfig
from utils.monitoring.queries import FeedbackResult
from utils.monitoring.records import PredictionRecord

if TYPE_CHECKING:
    from utils.deployment_helpers.observation import RequestOutcome


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

    def forget(self, model: str, version: str) -> None:
        """A version left service."""
        self.drift.forget(model, version)

    def observe(self, record: PredictionRecord) -> None:
        """Once per request, after the answer is known (successes and refusals)."""
        self.drift.observe(record)
        self.business.observe(record)
        if self.log is not None:
            self.log.record(record)

    def observe_outcome(self, outcome: RequestOutcome) -> None:
        """The data plane's observer: ``DataPlane(..., observers=[monitor.observe_outcome])``."""
        self.observe(record_of(outcome))

    def submit_feedback(self, items: Sequence[Mapping[str, Any]]) -> FeedbackResult:
        """Ground truth by request id; see :func:`utils.monitoring.queries.submit_feedback`.

        :raise BadInput: a malformed item, or no prediction log configured.
        """
        if self.log is None:
            from utils.errors import BadInput

            raise BadInput("feedback needs the prediction log, which is switched off")
        return self.log.submit_feedback([dict(item) for item in items])

    def close(self, timeout_s: float = 30.0) -> None:
        """Write every accepted record, then release the database."""
        if self.log is not None:
            self.log.close(timeout_s)
