"""The prediction log written by a child process: same rows, nothing accepted lost."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from utils.deployment_helpers.dataplane import DataPlane, DataPlaneSettings
from utils.deployment_helpers.observation import RequestContext
from utils.deployment_helpers.tasks.base import Logged
from utils.deployment_helpers.tasks.classification import Classification
from utils.monitoring.model_monitor import PENDING_BATCH, ModelMonitor, MonitoringConfig
from utils.monitoring.prediction_log import PredictionLogConfig, WriterPlacement

from .logs import infer_v2, logged_rows

MODELS = Path(__file__).resolve().parents[2] / "models"
MODEL = "digits_sklearn"


def _plane(monitor: ModelMonitor) -> DataPlane:
    plane = DataPlane(
        DataPlaneSettings(model_repository=MODELS, models=(MODEL,)),
        observers=[monitor.observe_outcome],
    )
    plane.start_background()
    return plane


@pytest.fixture
def monitored(tmp_path: Path, request: Any) -> Iterator[tuple[DataPlane, ModelMonitor]]:
    writer = getattr(request, "param", WriterPlacement.PROCESS)
    registry = CollectorRegistry()
    log = PredictionLogConfig(url=f"sqlite:///{tmp_path / 'l.db'}", writer=writer)
    monitor = ModelMonitor(registry, MonitoringConfig(prediction_log=log))
    plane = _plane(monitor)
    try:
        yield plane, monitor
    finally:
        plane.stop_background()
        monitor.close()


def _infer(plane: DataPlane, digits: Any, count: int, prefix: str = "r") -> None:
    for i in range(count):
        flat = digits.x_test[i % len(digits.x_test)].reshape(-1).tolist()
        infer_v2(plane, MODEL, flat, RequestContext(f"{prefix}{i}", client="key:ab", route="v2"))


def _written(monitor: ModelMonitor) -> float:
    assert monitor.log is not None
    return float(monitor.log._written._value.get())


def test_the_log_is_written_by_a_child_process_with_every_column(
    monitored: tuple[DataPlane, ModelMonitor], digits_split: Any
) -> None:
    plane, monitor = monitored
    _infer(plane, digits_split, 12)
    assert monitor.log is not None and monitor.log.flush()
    process = monitor.log._process
    assert process is not None and process.alive and process.pid not in (None, os.getpid())
    rows = logged_rows(monitor.log.engine)
    assert [r["request_id"] for r in rows] == [f"r{i}" for i in range(12)]
    assert [r["predicted_label"] for r in rows] == [str(y) for y in digits_split.y_test[:12]]
    assert all(r["features"] is not None and len(r["features"]) == 64 * 4 for r in rows)
    assert all(r["client"] == "key:ab" and r["status"] == 200 for r in rows)
    assert _written(monitor) == 12


@pytest.mark.parametrize("monitored", [WriterPlacement.THREAD], indirect=True)
def test_the_thread_writer_writes_the_same_rows_without_a_child(
    monitored: tuple[DataPlane, ModelMonitor], digits_split: Any
) -> None:
    plane, monitor = monitored
    _infer(plane, digits_split, 5)
    assert monitor.log is not None and monitor.log.flush()
    assert monitor.log._process is None
    rows = logged_rows(monitor.log.engine)
    assert [r["predicted_label"] for r in rows] == [str(y) for y in digits_split.y_test[:5]]


def test_a_killed_writer_process_loses_no_accepted_record(
    monitored: tuple[DataPlane, ModelMonitor], digits_split: Any
) -> None:
    plane, monitor = monitored
    _infer(plane, digits_split, 3, prefix="before-")
    assert monitor.log is not None and monitor.log.flush()
    process = monitor.log._process
    assert process is not None and process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    time.sleep(0.2)
    _infer(plane, digits_split, 4, prefix="after-")
    assert monitor.log.flush()
    ids = sorted(r["request_id"] for r in logged_rows(monitor.log.engine))
    assert ids == sorted([f"before-{i}" for i in range(3)] + [f"after-{i}" for i in range(4)])
    assert not process.alive


def test_business_metrics_count_what_the_writer_packed(
    monitored: tuple[DataPlane, ModelMonitor], digits_split: Any
) -> None:
    plane, monitor = monitored
    _infer(plane, digits_split, 6)
    assert monitor.log is not None and monitor.log.flush()
    counted = monitor.business.client_requests.labels("key:ab", MODEL, "ok")._value.get()
    assert counted == 6


def test_without_a_log_a_scrape_counts_requests_before_a_batch_fills(
    digits_split: Any,
) -> None:
    registry = CollectorRegistry()
    monitor = ModelMonitor(registry, MonitoringConfig(prediction_log=None))
    plane = _plane(monitor)
    try:
        _infer(plane, digits_split, 3)
        assert PENDING_BATCH > 3
        text = generate_latest(registry).decode()
    finally:
        plane.stop_background()
        monitor.close()
    line = f'client_requests_total{{client="key:ab",model="{MODEL}",outcome="ok"}} 3.0'
    assert line in text


def test_classification_keeps_for_the_log_what_its_answers_say() -> None:
    from utils.deployment_helpers.manifest import read_manifest

    manifest = read_manifest(MODELS / "digits_torch")
    logits = np.random.default_rng(3).normal(size=(7, 10)).astype(np.float32) * 4
    outputs = {manifest.outputs[-1].name: logits}
    task = Classification()
    fast = task.logged(manifest, outputs)
    slow = Logged.of_answers(task, task.answer(manifest, outputs))
    assert fast.labels == slow.labels
    assert fast.confidences is not None and slow.confidences is not None
    assert np.allclose(fast.confidences, slow.confidences)


@pytest.mark.parametrize("keep_tensors", [False, True])
def test_a_packed_batch_is_written_as_the_same_rows_as_the_records(
    tmp_path: Path, keep_tensors: bool
) -> None:
    from utils.monitoring.log_process import pack_records
    from utils.monitoring.prediction_log import PredictionLog

    from .logs import digit_record

    records = [digit_record("a"), digit_record("b", rows=3), digit_record("c", status=400)]
    records[2].inputs = None
    records[2].error = "x" * 600
    features = [np.ones((1, 4), np.float32), np.arange(12, dtype=np.float32).reshape(3, 4), None]
    written = []
    for name in ("records", "shipment"):
        config = PredictionLogConfig(
            url=f"sqlite:///{tmp_path / name}.db", keep_tensors=keep_tensors
        )
        with PredictionLog(config) as log:
            if name == "records":
                assert log.write_records(records, features)
            else:
                assert log.write_shipment(pack_records(records, lambda _: features))
            written.append([{**row, "id": None} for row in logged_rows(log.engine)])
    assert written[0] == written[1]
    assert [(r["request_id"], r["row"]) for r in written[1]] == [
        ("a", 0),
        ("b", 0),
        ("b", 1),
        ("b", 2),
        ("c", 0),
    ]
    assert written[1][2]["features"] == np.arange(4, 8, dtype="<f4").tobytes()
    assert written[1][4]["inputs"] is None and len(written[1][4]["error"]) == 500
