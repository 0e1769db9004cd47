"""Feedback joins ground truth to logged requests; live and estimated accuracy read it."""

from __future__ import annotations

import pytest

from utils.errors import BadInput
from utils.monitoring import queries
from utils.monitoring.prediction_log import PredictionLog, PredictionLogConfig
from utils.monitoring.records import PredictionRecord

from .logs import digit_record


@pytest.fixture
def log(database_url: str) -> PredictionLog:
    log = PredictionLog(PredictionLogConfig(url=database_url))
    for i in range(10):
        log.record(digit_record(f"r{i}", label="3"))
    return log


def test_feedback_joins_logged_requests_and_names_unknown_ids(log: PredictionLog) -> None:
    result = log.submit_feedback(
        [{"request_id": "r1", "label": "3"}, {"request_id": "nope", "label": "1"}]
    )
    log.close()
    assert result == queries.FeedbackResult(accepted=1, unknown=("nope",))


def test_live_accuracy_is_the_share_of_labelled_predictions_that_were_right(
    log: PredictionLog,
) -> None:
    log.submit_feedback([{"request_id": f"r{i}", "label": "3" if i < 3 else "8"} for i in range(4)])
    accuracy = queries.live_accuracy(log.engine, "digits", "1")
    log.close()
    assert accuracy == queries.Accuracy(samples=4, value=0.75)


def test_repeated_feedback_replaces_the_earlier_label(log: PredictionLog) -> None:
    log.submit_feedback([{"request_id": "r0", "label": "8"}])
    log.submit_feedback([{"request_id": "r0", "label": "3"}])
    accuracy = queries.live_accuracy(log.engine, "digits", "1")
    log.close()
    assert accuracy == queries.Accuracy(samples=1, value=1.0)


def test_feedback_names_the_row_of_a_batched_request(database_url: str) -> None:
    with PredictionLog(PredictionLogConfig(url=database_url)) as log:
        log.record(digit_record("batch", rows=3, labels=["1", "2", "3"]))
        log.submit_feedback([{"request_id": "batch", "row": 2, "label": "3"}])
        accuracy = queries.live_accuracy(log.engine, "digits")
    assert accuracy == queries.Accuracy(samples=1, value=1.0)


@pytest.mark.parametrize(
    "item",
    [
        {"label": "3"},
        {"request_id": "r0"},
        {"request_id": "r0", "label": "3", "value": 1.0},
        {"request_id": "r0", "row": -1, "label": "3"},
        {"request_id": "r0", "value": "high"},
    ],
    ids=["no-id", "neither", "both", "negative-row", "text-value"],
)
def test_a_malformed_item_is_refused_and_nothing_is_stored(
    log: PredictionLog, item: dict[str, object]
) -> None:
    with pytest.raises(BadInput):
        log.submit_feedback([{"request_id": "r1", "label": "3"}, item])
    coverage = queries.feedback_coverage(log.engine, "digits", "1")
    log.close()
    assert coverage == 0.0


def test_feedback_coverage_is_the_share_of_predictions_labelled(log: PredictionLog) -> None:
    log.submit_feedback([{"request_id": "r0", "label": "3"}, {"request_id": "r1", "label": "3"}])
    coverage = queries.feedback_coverage(log.engine, "digits", "1")
    log.close()
    assert coverage == pytest.approx(0.2)


def test_estimated_accuracy_is_the_mean_top_probability(database_url: str) -> None:
    with PredictionLog(PredictionLogConfig(url=database_url)) as log:
        for i, confidence in enumerate([0.5, 0.7, 0.9]):
            log.record(digit_record(f"c{i}", confidences=[confidence]))
        log.flush()
        estimate = queries.estimated_accuracy(log.engine, "digits", "1")
    assert estimate.samples == 3 and estimate.value == pytest.approx(0.7)


def test_value_feedback_gives_the_mean_absolute_error_of_a_regressor(database_url: str) -> None:
    with PredictionLog(PredictionLogConfig(url=database_url)) as log:
        for i, value in enumerate([1.0, 2.0]):
            log.record(
                PredictionRecord(f"v{i}", "co2", "1", 0.2, inputs={"x": [[0.0]]}, values=[value])
            )
        log.submit_feedback(
            [{"request_id": "v0", "value": 1.5}, {"request_id": "v1", "value": 1.0}]
        )
        error = queries.live_mean_absolute_error(log.engine, "co2")
    assert error == queries.Accuracy(samples=2, value=0.75)
