"""DriftMonitor and ModelMonitor: windows per version, verdicts and accuracy as metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from utils.monitoring.drift_monitor import DriftConfig, DriftMonitor
from utils.monitoring.measurements import best_per_call_us
from utils.monitoring.model_monitor import ModelMonitor, MonitoringConfig
from utils.monitoring.prediction_log import PredictionLog, PredictionLogConfig
from utils.monitoring.records import PredictionRecord

LABELS = [str(d) for d in range(10)]


def _records(
    images: np.ndarray, labels: list[str], version: str = "1", prefix: str = "r"
) -> list[PredictionRecord]:
    return [
        PredictionRecord(
            f"{prefix}{i}",
            "digits",
            version,
            0.3,
            inputs={"input": image.reshape(1, 1, 8, 8)},
            labels=[label],
            confidences=[0.95],
            client="key-1",
        )
        for i, (image, label) in enumerate(zip(images, labels, strict=True))
    ]


def _gauge(
    registry: CollectorRegistry, name: str, version: str = "1", **labels: str
) -> float | None:
    return registry.get_sample_value(name, {"model": "digits", "version": version, **labels})


def test_inverted_inputs_are_exported_as_detected_drift(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    registry = CollectorRegistry()
    monitor = DriftMonitor(registry)
    monitor.watch("digits", "1", digits_profile)
    for record in _records(1.0 - digits_split.x_test[:200], ["3"] * 200):
        monitor.observe(record)
    assert _gauge(registry, "model_drift_detected", signal="inputs") == 1.0
    assert _gauge(registry, "model_drift_score", signal="inputs") >= 0.5


def test_held_out_inputs_are_exported_as_no_drift(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    registry = CollectorRegistry()
    monitor = DriftMonitor(registry)
    monitor.watch("digits", "1", digits_profile)
    labels = [str(y) for y in digits_split.y_test]
    for record in _records(digits_split.x_test, labels):
        monitor.observe(record)
    assert _gauge(registry, "model_drift_detected", signal="inputs") == 0.0
    assert _gauge(registry, "model_drift_detected", signal="predictions") == 0.0


def test_no_verdict_is_exported_below_the_minimum_sample(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    registry = CollectorRegistry()
    monitor = DriftMonitor(registry, config=DriftConfig(min_samples=100))
    monitor.watch("digits", "1", digits_profile)
    for record in _records(1.0 - digits_split.x_test[:50], ["3"] * 50):
        monitor.observe(record)
    assert _gauge(registry, "model_drift_detected", signal="inputs") is None


def test_each_version_has_its_own_window(digits_profile: dict[str, Any], digits_split: Any) -> None:
    registry = CollectorRegistry()
    monitor = DriftMonitor(registry)
    monitor.watch("digits", "1", digits_profile)
    monitor.watch("digits", "2", digits_profile)
    labels = [str(y) for y in digits_split.y_test]
    for record in _records(digits_split.x_test, labels, version="1"):
        monitor.observe(record)
    for record in _records(1.0 - digits_split.x_test, labels, version="2"):
        monitor.observe(record)
    assert _gauge(registry, "model_drift_detected", "1", signal="inputs") == 0.0
    assert _gauge(registry, "model_drift_detected", "2", signal="inputs") == 1.0


def test_the_window_keeps_only_the_most_recent_rows(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    monitor = DriftMonitor(config=DriftConfig(window=200))
    monitor.watch("digits", "1", digits_profile)
    labels = [str(y) for y in digits_split.y_test[:200]]
    for record in _records(1.0 - digits_split.x_test[:200], labels) + _records(
        digits_split.x_test[:200], labels
    ):
        monitor.observe(record)
    report = monitor.report("digits", "1")
    assert report is not None and report.samples == 200 and report.inputs_drifted is False


def test_drift_read_from_the_log_counts_every_writers_traffic(
    tmp_path: Path, digits_profile: dict[str, Any], digits_split: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    reader = DriftMonitor(engine=PredictionLog(PredictionLogConfig(url=url)).engine)
    reader.watch("digits", "1", digits_profile)
    for worker in range(2):  # two workers, 60 rows each: neither alone reaches 100
        featurizer = DriftMonitor()
        featurizer.watch("digits", "1", digits_profile)
        with PredictionLog(PredictionLogConfig(url=url), featurizer=featurizer.features_of) as log:
            for record in _records(
                1.0 - digits_split.x_test[worker * 60 : worker * 60 + 60],
                ["3"] * 60,
                prefix=f"w{worker}-",
            ):
                log.record(record)
    report = reader.report("digits", "1")
    assert report is not None and report.samples == 120 and report.inputs_drifted is True


def test_live_and_estimated_accuracy_are_exported(
    tmp_path: Path, digits_profile: dict[str, Any], digits_split: Any
) -> None:
    registry = CollectorRegistry()
    config = MonitoringConfig(
        prediction_log=PredictionLogConfig(url=f"sqlite:///{tmp_path / 'l.sqlite3'}")
    )
    monitor = ModelMonitor(registry, config)
    monitor.watch("digits", "1", profile=digits_profile, labels=LABELS)
    for record in _records(digits_split.x_test[:4], ["3", "3", "3", "3"]):
        monitor.observe(record)
    monitor.submit_feedback([{"request_id": f"r{i}", "label": "3" if i else "5"} for i in range(4)])
    assert _gauge(registry, "model_live_accuracy") == pytest.approx(0.75)
    assert _gauge(registry, "model_estimated_accuracy") == pytest.approx(0.95)
    monitor.close()


def test_business_metrics_count_clients_errors_classes_and_feedback(
    tmp_path: Path, digits_split: Any
) -> None:
    registry = CollectorRegistry()
    config = MonitoringConfig(
        prediction_log=PredictionLogConfig(url=f"sqlite:///{tmp_path / 'l.sqlite3'}")
    )
    monitor = ModelMonitor(registry, config)
    monitor.watch("digits", "1", profile=None, labels=LABELS)
    for record in _records(digits_split.x_test[:3], ["3", "3", "not-a-class"]):
        monitor.observe(record)
    monitor.observe(PredictionRecord("bad", "no-such-model", "1", 0.1, status=404, client="key-2"))
    monitor.submit_feedback([{"request_id": "r0", "label": "3"}])
    requests = registry.get_sample_value
    assert (
        requests("client_requests_total", {"client": "key-1", "model": "digits", "outcome": "ok"})
        == 3
    )
    assert (
        requests(
            "client_requests_total", {"client": "key-2", "model": "other", "outcome": "refused"}
        )
        == 1
    )
    assert _gauge(registry, "predictions_by_class_total", label="3") == 2
    assert _gauge(registry, "predictions_by_class_total", label="other") == 1
    assert _gauge(registry, "model_feedback_coverage") == pytest.approx(1 / 3)
    monitor.close()


def test_the_per_request_call_costs_a_few_microseconds(
    tmp_path: Path, digits_profile: dict[str, Any], digits_split: Any
) -> None:
    config = MonitoringConfig(
        prediction_log=PredictionLogConfig(
            url=f"sqlite:///{tmp_path / 'l.sqlite3'}",
            queue_size=10_000,
            batch_size=100_000,
            flush_interval_s=3600,
        )
    )
    monitor = ModelMonitor(CollectorRegistry(), config)
    monitor.watch("digits", "1", profile=digits_profile, labels=LABELS)
    records = _records(np.resize(digits_split.x_test, (5000, 8, 8)), ["3"] * 5000)
    per_call_us = best_per_call_us(monitor.observe, records)
    monitor.close()
    assert per_call_us < 50, (
        f"observe() took {per_call_us:.1f} us"
    )  # measured ~4 us on a quiet machine
