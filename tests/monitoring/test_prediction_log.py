"""The prediction log: every accepted record reaches the database, off the request path,
on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from utils.monitoring.measurements import best_per_call_us
from utils.monitoring.prediction_log import (
    Durability,
    FullQueuePolicy,
    PredictionLog,
    PredictionLogConfig,
)
from utils.monitoring.records import PredictionRecord

from .logs import digit_record, logged_rows, row_count

PAUSED = {"batch_size": 100_000, "flush_interval_s": 3600.0}
"""A writer that never wakes by itself: records stay queued until flush() or close()."""


def test_close_writes_every_accepted_record(database_url: str) -> None:
    log = PredictionLog(PredictionLogConfig(url=database_url, **PAUSED))
    accepted = sum(log.record(digit_record(f"r{i}")) for i in range(1500))
    log.close()
    assert accepted == 1500
    assert row_count(database_url) == 1500


def test_a_record_keeps_what_the_issue_lists(database_url: str) -> None:
    with PredictionLog(PredictionLogConfig(url=database_url)) as log:
        log.record(digit_record("req-1", label="7"))
        log.flush()
        (row,) = logged_rows(log.engine)
    assert (row["request_id"], row["model"], row["version"], row["status"]) == (
        "req-1",
        "digits",
        "1",
        200,
    )
    assert (row["client"], row["route"], row["predicted_label"]) == ("key-1", "v2-infer", "7")
    assert row["latency_ms"] == pytest.approx(0.4) and row["confidence"] == pytest.approx(0.9)


def test_a_batched_request_becomes_one_row_per_input_row(database_url: str) -> None:
    with PredictionLog(PredictionLogConfig(url=database_url)) as log:
        log.record(digit_record("batch", rows=4))
        log.flush()
        rows = logged_rows(log.engine)
    assert [(r["request_id"], r["row"]) for r in rows] == [("batch", i) for i in range(4)]


def test_inputs_are_summarised_by_default(database_url: str) -> None:
    with PredictionLog(PredictionLogConfig(url=database_url)) as log:
        log.record(digit_record("s"))
        log.flush()
        (row,) = logged_rows(log.engine)
    summary = row["inputs"]["input"]
    assert summary["shape"] == [1, 8, 8] and summary["dtype"] == "float32"
    assert (summary["min"], summary["max"]) == (0.0, 1.0)
    assert summary["mean"] == pytest.approx(0.5)


def test_inputs_are_kept_whole_when_the_setting_asks(database_url: str) -> None:
    with PredictionLog(PredictionLogConfig(url=database_url, keep_tensors=True)) as log:
        log.record(digit_record("t"))
        log.flush()
        (row,) = logged_rows(log.engine)
    assert len(row["inputs"]["input"][0]) == 8 and row["inputs"]["input"][0][7][7] == 1.0


def test_a_refusal_is_logged_with_its_status_and_message(database_url: str) -> None:
    refusal = PredictionRecord("bad", "digits", "1", 0.1, status=400, error="input: expected FP32")
    with PredictionLog(PredictionLogConfig(url=database_url)) as log:
        log.record(refusal)
        log.flush()
        (row,) = logged_rows(log.engine)
    assert (row["status"], row["error"], row["predicted_label"]) == (
        400,
        "input: expected FP32",
        None,
    )


def test_a_full_queue_drops_and_counts_under_the_drop_policy(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    config = PredictionLogConfig(
        url=f"sqlite:///{tmp_path / 'log.sqlite3'}", queue_size=5, **PAUSED
    )
    log = PredictionLog(config, registry=registry)
    accepted = [log.record(digit_record(f"r{i}")) for i in range(8)]
    log.close()
    assert accepted == [True] * 5 + [False] * 3
    dropped = registry.get_sample_value("prediction_log_dropped_total", {"reason": "queue_full"})
    assert dropped == 3.0 and row_count(config.url) == 5


def test_a_full_queue_makes_the_request_wait_under_the_block_policy(tmp_path: Path) -> None:
    config = PredictionLogConfig(
        url=f"sqlite:///{tmp_path / 'log.sqlite3'}",
        queue_size=2,
        full_queue=FullQueuePolicy.BLOCK,
        block_timeout_s=10.0,
        **PAUSED,
    )
    log = PredictionLog(config)
    accepted = [log.record(digit_record(f"r{i}")) for i in range(200)]
    log.close()
    assert all(accepted) and row_count(config.url) == 200


def test_sampling_keeps_that_share_of_successes_and_every_refusal(tmp_path: Path) -> None:
    config = PredictionLogConfig(url=f"sqlite:///{tmp_path / 'log.sqlite3'}", sample_rate=0.25)
    log = PredictionLog(config)
    for i in range(400):
        log.record(digit_record(f"ok{i}"))
        log.record(PredictionRecord(f"no{i}", "digits", "1", 0.1, status=400, error="bad"))
    log.flush()
    statuses = [r["status"] for r in logged_rows(log.engine)]
    log.close()
    assert statuses.count(200) == 100 and statuses.count(400) == 400


def test_retention_deletes_rows_older_than_the_setting(database_url: str) -> None:
    now = time.time()
    with PredictionLog(PredictionLogConfig(url=database_url, retention_days=None)) as log:
        log.record(digit_record("old", time=now - 40 * 86400))
        log.record(digit_record("new", time=now))
    with PredictionLog(PredictionLogConfig(url=database_url, retention_days=30)) as log:
        log.flush()
        assert [r["request_id"] for r in logged_rows(log.engine)] == ["new"]


def test_synchronous_mode_commits_before_record_returns(database_url: str) -> None:
    log = PredictionLog(PredictionLogConfig(url=database_url, durability=Durability.SYNCHRONOUS))
    log.record(digit_record("durable"))
    seen_by_another_connection = row_count(database_url)
    log.close()
    assert seen_by_another_connection == 1


def test_a_write_that_fails_is_counted_not_silent(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    log = PredictionLog(PredictionLogConfig(url=url), registry=registry)
    with log.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE predictions"))
    log.record(digit_record("lost"))
    log.close()
    assert (
        registry.get_sample_value("prediction_log_dropped_total", {"reason": "write_error"}) == 1.0
    )


def _write_from_another_process(url: str, worker: int, count: int) -> None:
    log = PredictionLog(PredictionLogConfig(url=url, batch_size=50))
    for i in range(count):
        log.record(digit_record(f"w{worker}-{i}"))
    log.close()


def test_several_processes_write_to_the_same_log(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_from_another_process, args=(database_url, w, 300))
        for w in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert row_count(database_url) == 900


def test_the_per_request_call_costs_a_few_microseconds(tmp_path: Path) -> None:
    log = PredictionLog(
        PredictionLogConfig(url=f"sqlite:///{tmp_path / 'l.sqlite3'}", queue_size=50_000, **PAUSED)
    )
    records = [digit_record(f"r{i}") for i in range(5_000)]
    per_call_us = best_per_call_us(log.record, records)
    log.close()
    assert per_call_us < 20, f"record() took {per_call_us:.1f} us"  # measured ~0.6 us


def test_a_record_that_cannot_become_a_row_is_counted_and_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    registry = CollectorRegistry()
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    log = PredictionLog(PredictionLogConfig(url=url), registry=registry)
    log.record(digit_record("odd", labels=None, confidences=object()))  # type: ignore[arg-type]
    log.flush()
    log.record(digit_record("fine"))
    log.close()
    assert (
        registry.get_sample_value("prediction_log_dropped_total", {"reason": "write_error"}) == 1.0
    )
    assert row_count(url) == 1
