"""What the apps rely on: settings mapped onto the library, every served version watched
without wiring, feedback checked against the model it names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic_settings import SettingsConfigDict

from utils.deployment_helpers.dataplane import DataPlane, DataPlaneSettings
from utils.deployment_helpers.observation import RequestContext
from utils.errors import BadInput, ConfigurationError, RequestsNotLogged
from utils.monitoring import queries
from utils.monitoring.model_monitor import ModelMonitor
from utils.monitoring.prediction_log import FullQueuePolicy
from utils.monitoring.settings import MonitoringSettings

MODELS = Path(__file__).resolve().parents[2] / "models"
MODEL = "digits_sklearn"


class ApiSettings(MonitoringSettings):
    model_config = SettingsConfigDict(env_prefix="TESTAPI_")


def test_settings_read_the_prefix_of_the_app_and_fill_the_library_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TESTAPI_PREDICTION_LOG_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("TESTAPI_PREDICTION_LOG_FULL_QUEUE", "block")
    monkeypatch.setenv("TESTAPI_PREDICTION_LOG_INPUTS", "tensors")
    log = ApiSettings().monitoring_config().prediction_log
    assert log is not None and log.url.endswith("x.db")
    assert (log.full_queue, log.keep_tensors) == (FullQueuePolicy.BLOCK, True)


def test_the_off_switch_leaves_no_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTAPI_PREDICTION_LOG", "false")
    assert ApiSettings().monitoring_config().prediction_log is None


def test_the_default_log_is_the_repositorys_out_folder_whatever_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    log = ApiSettings().monitoring_config().prediction_log
    root = Path(__file__).resolve().parents[2]
    assert log is not None and log.url == f"sqlite:///{root / 'out' / 'prediction_log.sqlite3'}"


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[DataPlane, ModelMonitor, CollectorRegistry]]:
    registry = CollectorRegistry()
    settings = ApiSettings(prediction_log_url=f"sqlite:///{tmp_path / 'l.db'}")
    monitor = ModelMonitor(registry, settings.monitoring_config())
    plane = DataPlane(
        DataPlaneSettings(model_repository=MODELS, models=(MODEL,)),
        observers=[monitor.observe_outcome],
    )
    monitor.follow(plane.repository.loaded)
    plane.start_background()
    try:
        yield plane, monitor, registry
    finally:
        plane.stop_background()
        monitor.close()


def _predict(plane: DataPlane, image: Any, request_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = plane.call(
        plane.predict({"model": MODEL, "inputs": [image]}, RequestContext(request_id))
    )
    return answer


def test_a_followed_plane_has_every_loaded_version_watched_before_any_request(
    wired: tuple[DataPlane, ModelMonitor, CollectorRegistry],
) -> None:
    _, monitor, _ = wired
    assert [(s["model"], s["profiled"]) for s in monitor.status()] == [(MODEL, True)]


def test_an_unloaded_model_leaves_the_watch(
    wired: tuple[DataPlane, ModelMonitor, CollectorRegistry],
) -> None:
    plane, monitor, _ = wired
    plane.call(plane.unload(MODEL))
    assert monitor.status() == []


def test_feedback_with_a_label_outside_the_models_classes_is_refused(
    wired: tuple[DataPlane, ModelMonitor, CollectorRegistry], digits_split: Any
) -> None:
    plane, monitor, _ = wired
    _predict(plane, digits_split.x_test[0].tolist(), "rid-a")
    with pytest.raises(BadInput, match="'cat' is not a class of 'digits_sklearn'"):
        monitor.submit_feedback(
            [{"request_id": "rid-a", "label": "cat"}], served=plane.model(MODEL)
        )


def test_feedback_with_a_value_for_a_classifier_is_refused(
    wired: tuple[DataPlane, ModelMonitor, CollectorRegistry], digits_split: Any
) -> None:
    plane, monitor, _ = wired
    _predict(plane, digits_split.x_test[0].tolist(), "rid-b")
    with pytest.raises(BadInput, match="is a classifier, send a label"):
        monitor.submit_feedback([{"request_id": "rid-b", "value": 3.0}], served=plane.model(MODEL))


def test_feedback_naming_an_unknown_request_stores_nothing_and_says_which(
    wired: tuple[DataPlane, ModelMonitor, CollectorRegistry], digits_split: Any
) -> None:
    plane, monitor, _ = wired
    _predict(plane, digits_split.x_test[0].tolist(), "rid-c")
    items = [{"request_id": "rid-c", "label": "1"}, {"request_id": "rid-gone", "label": "1"}]
    with pytest.raises(RequestsNotLogged, match="rid-gone") as refused:
        monitor.submit_feedback(items, served=plane.model(MODEL))
    assert monitor.log is not None
    assert refused.value.status == 404
    assert queries.feedback_coverage(monitor.log.engine, MODEL) == 0.0


def test_feedback_joins_and_sets_the_live_accuracy_metric(
    wired: tuple[DataPlane, ModelMonitor, CollectorRegistry], digits_split: Any
) -> None:
    plane, monitor, registry = wired
    answers = [_predict(plane, digits_split.x_test[i].tolist(), f"r{i}") for i in range(4)]
    wrong = str((int(answers[3]["predictions"][0]["label"]) + 1) % 10)
    labels = [a["predictions"][0]["label"] for a in answers[:3]] + [wrong]
    result = monitor.submit_feedback(
        [{"request_id": f"r{i}", "label": label} for i, label in enumerate(labels)],
        served=plane.model(MODEL),
    )
    labels_of = {"model": MODEL, "version": str(plane.model(MODEL).version)}
    assert result.accepted == 4
    assert registry.get_sample_value("model_live_accuracy", labels_of) == 0.75


def test_a_log_that_cannot_be_opened_stops_the_app_with_the_variable_to_change() -> None:
    settings = ApiSettings(prediction_log_url="sqlite:////proc/no-such-dir/log.sqlite3")
    with pytest.raises(
        ConfigurationError, match=r"TESTAPI_PREDICTION_LOG_URL=.*TESTAPI_PREDICTION_LOG=false"
    ):
        settings.open_monitor(CollectorRegistry())
