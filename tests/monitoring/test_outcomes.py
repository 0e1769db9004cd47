"""ModelMonitor as the data plane's observer: the real DataPlane's doors fill the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from utils.deployment_helpers.dataplane import DataPlane, DataPlaneSettings
from utils.deployment_helpers.observation import RequestContext
from utils.errors import ToolkitError
from utils.monitoring.model_monitor import ModelMonitor, MonitoringConfig
from utils.monitoring.prediction_log import PredictionLogConfig

from .logs import infer_v2, logged_rows

MODELS = Path(__file__).resolve().parents[2] / "models"
MODEL = "digits_sklearn"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[DataPlane, ModelMonitor]]:
    registry = CollectorRegistry()
    config = MonitoringConfig(
        prediction_log=PredictionLogConfig(url=f"sqlite:///{tmp_path / 'l.db'}")
    )
    monitor = ModelMonitor(registry, config)
    plane = DataPlane(
        DataPlaneSettings(model_repository=MODELS, models=(MODEL,)),
        observers=[monitor.observe_outcome],
    )
    plane.start_background()
    model = plane.model(MODEL)
    monitor.watch(
        model.name,
        str(model.version),
        profile=model.manifest.reference_profile,
        labels=model.manifest.labels,
    )
    try:
        yield plane, monitor
    finally:
        plane.stop_background()
        monitor.close()


def test_a_plain_json_prediction_is_logged_with_its_label_confidence_and_features(
    served: tuple[DataPlane, ModelMonitor], digits_split: Any
) -> None:
    plane, monitor = served
    image = digits_split.x_test[0].tolist()
    plane.call(
        plane.predict(
            {"model": MODEL, "inputs": image},
            RequestContext("rid-1", client="key:ab", route="predict"),
        )
    )
    assert monitor.log is not None and monitor.log.flush()
    (row,) = logged_rows(monitor.log.engine)
    assert (row["request_id"], row["client"], row["route"], row["status"]) == (
        "rid-1",
        "key:ab",
        "predict",
        200,
    )
    assert row["predicted_label"] == str(digits_split.y_test[0]) and 0.0 < row["confidence"] <= 1.0
    assert row["features"] is not None and len(row["features"]) == 64 * 4


def test_a_v2_request_is_decoded_for_the_log(
    served: tuple[DataPlane, ModelMonitor], digits_split: Any
) -> None:
    plane, monitor = served
    flat = digits_split.x_test[1].reshape(-1).tolist()
    infer_v2(plane, MODEL, flat, RequestContext("rid-2"))
    assert monitor.log is not None and monitor.log.flush()
    (row,) = logged_rows(monitor.log.engine)
    assert row["predicted_label"] == str(digits_split.y_test[1]) and row["confidence"] is not None


def test_a_refusal_is_logged_with_its_status_and_message(
    served: tuple[DataPlane, ModelMonitor],
) -> None:
    plane, monitor = served
    with pytest.raises(ToolkitError):
        plane.call(plane.predict({"model": MODEL, "inputs": [1, 2, 3]}, RequestContext("rid-3")))
    assert monitor.log is not None and monitor.log.flush()
    (row,) = logged_rows(monitor.log.engine)
    assert row["status"] == 400 and row["error"]


def test_outcomes_decoded_together_get_the_labels_each_gets_alone(digits_split: Any) -> None:
    from utils.deployment_helpers.observation import RequestOutcome
    from utils.monitoring.outcomes import record_of, records_of

    seen: list[RequestOutcome] = []
    plane = DataPlane(
        DataPlaneSettings(model_repository=MODELS, models=(MODEL,)), observers=[seen.append]
    )
    plane.start_background()
    try:
        for i in range(5):
            flat = digits_split.x_test[i : i + 1 + i % 2].reshape(-1, 64)
            body = orjson.dumps(
                {"inputs": [{"name": "input", "datatype": "FP32", "shape": list(flat.shape),
                             "data": flat.reshape(-1).tolist()}]}
            )  # fmt: skip
            plane.call(
                plane.infer_v2(MODEL, None, body, content_type="application/json",
                               header_length=None, context=RequestContext(f"r{i}"))
            )  # fmt: skip
    finally:
        plane.stop_background()
    together = [r.labels for r in records_of(seen)]
    assert together == [record_of(o).labels for o in seen] and sum(map(len, together)) == 7
