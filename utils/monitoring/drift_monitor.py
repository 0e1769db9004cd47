"""Drift and accuracy of every served model version, exported to Prometheus.

Per (model, version), a window of the last ``window`` input rows and predicted labels is
kept in memory (a deque append per request); when a prediction log is given, the window is
read from the log instead, so that every worker's traffic counts (each gunicorn or uvicorn
worker alone sees only its share). Scores are computed at scrape time, at most every
``refresh_s`` per model (a 64-feature window of 500 rows takes ~30 ms), never on the
request path.

Exported on the registry the app passes in:

- ``model_drift_score{model,version,signal}``: ``inputs`` = share of features whose test
  says drift (0..1); ``predictions`` = Jensen-Shannon distance of the predicted-class
  distribution to the training labels' (0..1).
- ``model_drift_detected{model,version,signal}``: 1 when the verdict is drift (inputs: at
  least half the features drift; predictions: chi-square p < 0.05 and JS >= 0.1), else 0.
  Absent while the window has fewer than ``min_samples`` rows: no verdict, not a noisy one.
- ``model_drift_psi{model,version}``: mean chance-corrected PSI of the inputs, beside.
- ``model_live_accuracy{model,version}``: share right among the last ``window`` labelled
  predictions (feedback, from the log).
- ``model_estimated_accuracy{model,version}``: mean top-class probability of the last
  ``window`` predictions (uncalibrated CBPE-style estimate, see ``queries``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from utils.errors import BadInput
from utils.monitoring import queries
from utils.monitoring.drift import MIN_SAMPLES, DriftReport, detect_drift
from utils.monitoring.profile import features_of
from utils.monitoring.records import PredictionRecord
from utils.monitoring.stattests import Correction

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DriftConfig:
    window: int = 500
    """Rows per model version the tests look at (the most recent)."""
    min_samples: int = MIN_SAMPLES
    """Fewer rows than this in the window give no verdict."""
    correction: Correction = Correction.BENJAMINI_HOCHBERG
    refresh_s: float = 10.0
    """Scores are recomputed at most this often (a scrape in between reads the last)."""


@dataclass
class _Watched:
    profile: Mapping[str, Any] | None
    input_name: str | None
    rows: deque[tuple[Any, str | None, float | None]]
    report: DriftReport | None = None
    live: queries.Accuracy | None = None
    estimated: queries.Accuracy | None = None
    computed_at: float = field(default=-1e18)


class DriftMonitor:
    """Windows per (model, version), their drift verdicts and accuracies, as metrics."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        config: DriftConfig | None = None,
        engine: sa.Engine | None = None,
    ) -> None:
        self.config = config or DriftConfig()
        self.engine = engine
        self._watched: dict[tuple[str, str], _Watched] = {}
        self._lock = threading.Lock()
        self.before_refresh: Callable[[], None] | None = None
        """Called before each refresh (``ModelMonitor.follow`` syncs the watched versions)."""
        if registry is not None:
            registry.register(_DriftCollector(self))

    def watch(
        self,
        model: str,
        version: str,
        profile: Mapping[str, Any] | None,
        *,
        input_name: str | None = None,
    ) -> None:
        """Start watching a loaded version; ``profile`` is its manifest's reference profile
        (None: accuracy only); ``input_name`` the input it profiles (default: the first)."""
        with self._lock:
            self._watched[(model, version)] = _Watched(
                profile, input_name, deque(maxlen=self.config.window)
            )

    def forget(self, model: str, version: str) -> None:
        """Stop watching an unloaded version (its series leave /metrics)."""
        with self._lock:
            self._watched.pop((model, version), None)

    def observe(self, record: PredictionRecord) -> None:
        """Keep a successful request's inputs and predictions (a deque append: cheap).

        Nothing to keep when the windows are read from the log (``engine``)."""
        if self.engine is not None:
            return
        watched = self._watched.get((record.model, record.version))
        if watched is None or record.status != 200 or not record.inputs:
            return
        tensor = self._input_of(watched, record)
        labels, confidences = record.labels, record.confidences
        count = record.rows
        for row in range(count):
            watched.rows.append(
                (
                    tensor if count == 1 else tensor[row : row + 1],
                    None if labels is None else labels[row],
                    None if confidences is None else confidences[row],
                )
            )

    @staticmethod
    def _input_of(watched: _Watched, record: PredictionRecord) -> Any:
        assert record.inputs is not None
        if watched.input_name is not None:
            return record.inputs[watched.input_name]
        return next(iter(record.inputs.values()))

    def features_for(
        self, model: str, version: str, inputs: Mapping[str, Any]
    ) -> NDArray[np.float32] | None:
        """Drift features [rows, F] of a version's stacked inputs (the log process's
        packer), or None: no profile, or inputs that do not fit it."""
        watched = self._watched.get((model, version))
        if watched is None or watched.profile is None or not inputs:
            return None
        name = watched.input_name
        if name is not None and name not in inputs:
            return None
        tensor = np.asarray(inputs[name] if name is not None else next(iter(inputs.values())))
        if tensor.ndim == 0:
            return None
        try:
            return features_of(watched.profile, tensor).astype("<f4")
        except BadInput:
            return None

    def features_of(self, records: Sequence[PredictionRecord]) -> list[NDArray[np.float32] | None]:
        """Drift features of each record's inputs, float32 [rows, F] (the prediction log's
        featurizer): records of one version and input shape are reduced in one numpy pass."""
        out: list[NDArray[np.float32] | None] = [None] * len(records)
        groups: dict[tuple[Any, ...], list[tuple[int, NDArray[Any]]]] = {}
        for index, record in enumerate(records):
            watched = self._watched.get((record.model, record.version))
            if watched is None or watched.profile is None or not record.inputs:
                continue
            tensor = np.asarray(self._input_of(watched, record))
            if tensor.ndim == 0:
                continue
            key = (record.model, record.version, tensor.shape[1:], tensor.dtype)
            groups.setdefault(key, []).append((index, tensor))
        for (model, version, _, _), members in groups.items():
            watched = self._watched.get((model, version))  # forgotten meanwhile: skip
            profile = None if watched is None else watched.profile
            if profile is None:
                continue
            try:
                stacked = np.concatenate([tensor for _, tensor in members])
                features = features_of(profile, stacked).astype("<f4")
            except BadInput:
                continue
            start = 0
            for index, tensor in members:
                out[index] = features[start : start + len(tensor)]
                start += len(tensor)
        return out

    # --- scoring (scrape time) ----------------------------------------------------------
    def _window(self, key: tuple[str, str], watched: _Watched) -> tuple[Any, list[str]]:
        if self.engine is not None:
            return queries.recent_window(self.engine, *key, window=self.config.window)
        items = list(watched.rows)
        if not items:
            return np.zeros((0, 0)), []
        assert watched.profile is not None
        features = np.concatenate([features_of(watched.profile, t) for t, _, _ in items])
        return features, [label for _, label, _ in items if label is not None]

    def _estimated(self, key: tuple[str, str], watched: _Watched) -> queries.Accuracy:
        if self.engine is not None:
            return queries.estimated_accuracy(self.engine, *key, window=self.config.window)
        values = [c for _, _, c in list(watched.rows) if c is not None]
        return queries.Accuracy(len(values), float(np.mean(values)) if values else None)

    def refresh(self, *, force: bool = False) -> None:
        """Recompute the scores of every watched version whose last are stale."""
        if self.before_refresh is not None:
            try:
                self.before_refresh()
            except Exception:  # a failing source must not take /metrics down
                log.warning("drift: the served versions could not be listed", exc_info=True)
        now = time.monotonic()
        with self._lock:
            items = list(self._watched.items())
        for key, watched in items:
            if not force and now - watched.computed_at < self.config.refresh_s:
                continue
            watched.computed_at = now
            try:
                if watched.profile is not None:
                    features, labels = self._window(key, watched)
                    watched.report = detect_drift(
                        {**watched.profile, "reduction": {"kind": "flat"}},
                        features,
                        labels,
                        min_samples=self.config.min_samples,
                        correction=self.config.correction,
                    )
                watched.estimated = self._estimated(key, watched)
                if self.engine is not None:
                    watched.live = queries.live_accuracy(
                        self.engine, *key, window=self.config.window
                    )
            except (BadInput, sa.exc.SQLAlchemyError):
                log.warning("drift of %s/%s not computed", *key, exc_info=True)

    def report(self, model: str, version: str) -> DriftReport | None:
        """The latest drift report of a watched version (computed now if stale)."""
        self.refresh()
        watched = self._watched.get((model, version))
        return None if watched is None else watched.report

    def snapshot(self) -> dict[tuple[str, str], _Watched]:
        with self._lock:
            return dict(self._watched)


class _DriftCollector(Collector):
    def __init__(self, monitor: DriftMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterable[Metric]:
        self.monitor.refresh()
        score = GaugeMetricFamily(
            "model_drift_score",
            "Drift score: inputs = share of features drifted, predictions = JS distance",
            labels=["model", "version", "signal"],
        )
        detected = GaugeMetricFamily(
            "model_drift_detected",
            "1 when the window's verdict is drift (absent below the minimum sample)",
            labels=["model", "version", "signal"],
        )
        psi = GaugeMetricFamily(
            "model_drift_psi",
            "Mean chance-corrected PSI of the inputs",
            labels=["model", "version"],
        )
        live = GaugeMetricFamily(
            "model_live_accuracy",
            "Share right among the last labelled predictions (feedback)",
            labels=["model", "version"],
        )
        estimated = GaugeMetricFamily(
            "model_estimated_accuracy",
            "Mean top-class probability of the last predictions (uncalibrated estimate)",
            labels=["model", "version"],
        )
        for (model, version), watched in sorted(self.monitor.snapshot().items()):
            labels = [model, version]
            report = watched.report
            if report is not None and report.inputs_drifted is not None:
                score.add_metric([*labels, "inputs"], report.inputs_score)
                detected.add_metric([*labels, "inputs"], float(report.inputs_drifted))
                psi.add_metric(labels, report.psi_mean)
            if report is not None and report.predictions_drifted is not None:
                score.add_metric([*labels, "predictions"], report.predictions_score or 0.0)
                detected.add_metric([*labels, "predictions"], float(report.predictions_drifted))
            if watched.live is not None and watched.live.value is not None:
                live.add_metric(labels, watched.live.value)
            if watched.estimated is not None and watched.estimated.value is not None:
                estimated.add_metric(labels, watched.estimated.value)
        yield from (score, detected, psi, live, estimated)
