"""Recent traffic from the prediction log (what the Flask monitoring page shows)."""

from __future__ import annotations

from pathlib import Path

from utils.monitoring.prediction_log import PredictionLog, PredictionLogConfig
from utils.monitoring.traffic import percentile, traffic_figures, traffic_snapshot

from .logs import digit_record

START = 1000.0


def test_percentile_returns_a_measured_value_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile([], 50)) == (50.0, 99.0, 0.0)


def test_series_put_each_request_in_its_second() -> None:
    requests = [(START + offset, 1.0, 200, None) for offset in (0.5, 4.8, 4.9)]
    figures = traffic_figures(requests, [], window_s=5, start=START)
    assert figures["requests_per_s_series"] == [1, 0, 0, 0, 2]


def test_error_rate_counts_4xx_and_5xx() -> None:
    requests = [(START + 1, 1.0, status, None) for status in (200, 200, 400, 500)]
    assert traffic_figures(requests, [], window_s=10, start=START)["error_rate"] == 0.5


def test_latency_series_has_a_gap_for_a_quiet_bucket() -> None:
    figures = traffic_figures([(START + 59, 4.0, 200, None)], [], window_s=60, start=START)
    series = figures["latency_series"]["p50"]
    assert len(series) == 12 and series[-1] == 4.0 and series[0] is None


def test_requests_and_errors_are_counted_per_client() -> None:
    requests = [(START + 1, 1.0, 200, "key:a"), (START + 2, 1.0, 401, None)]
    clients = traffic_figures(requests, [], window_s=10, start=START)["clients"]
    assert clients == {
        "key:a": {"requests": 1, "errors": 0},
        "anonymous": {"requests": 1, "errors": 1},
    }


def test_a_snapshot_counts_every_row_of_a_batch_once_per_class_and_the_request_once(
    tmp_path: Path,
) -> None:
    with PredictionLog(PredictionLogConfig(url=f"sqlite:///{tmp_path / 'l.db'}")) as log:
        log.record(digit_record("batch", rows=3, label="7"))
        log.record(digit_record("refused", status=400, inputs=None, labels=None))
        assert log.flush()
        snapshot = traffic_snapshot(log.engine, window_s=60)
    assert snapshot["totals"] == {"requests": 2, "errors": 1}
    assert snapshot["class_counts"] == {"7": 3} and snapshot["predictions_per_model"] == {
        "digits v1": 3
    }


def test_without_a_log_the_snapshot_has_the_same_shape_and_no_traffic() -> None:
    snapshot = traffic_snapshot(None, window_s=60)
    assert snapshot["totals"] == {"requests": 0, "errors": 0} and "latency_series" in snapshot
