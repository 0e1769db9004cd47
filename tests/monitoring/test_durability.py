"""SIGKILL a writer under load: acknowledged records missing from the log.

Goal in the synchronous mode: none, on SQLite and PostgreSQL. In the fast mode the loss is
bounded by what the queue held, at most ``flush_interval_s`` of traffic in practice.
"""

from __future__ import annotations

import pytest

from utils.monitoring.durability import kill_under_load
from utils.monitoring.prediction_log import Durability, PredictionLogConfig, WriterPlacement

RATE_PER_S = 500.0


def test_synchronous_mode_loses_no_acknowledged_record(database_url: str) -> None:
    result = kill_under_load(
        database_url, Durability.SYNCHRONOUS, seconds=2.0, rate_per_s=RATE_PER_S
    )
    assert result["acknowledged"] > 20
    assert result["missing"] == 0


def test_fast_mode_loses_at_most_what_the_queue_held(database_url: str) -> None:
    result = kill_under_load(database_url, Durability.FAST, seconds=2.0, rate_per_s=RATE_PER_S)
    bound = PredictionLogConfig().queue_size
    assert result["acknowledged"] > 500
    assert result["missing"] <= bound


def test_fast_mode_with_a_log_process_loses_at_most_what_the_queue_held(
    database_url: str,
) -> None:
    result = kill_under_load(
        database_url,
        Durability.FAST,
        seconds=2.0,
        rate_per_s=RATE_PER_S,
        writer=WriterPlacement.PROCESS,
    )
    assert result["writer"] == "process" and result["acknowledged"] > 500
    assert result["missing"] <= PredictionLogConfig().queue_size


@pytest.mark.slow
def test_fast_mode_loses_about_one_flush_interval_of_traffic(database_url: str) -> None:
    result = kill_under_load(database_url, Durability.FAST, seconds=5.0, rate_per_s=RATE_PER_S)
    interval_s = PredictionLogConfig().flush_interval_s
    assert result["missing"] <= 5 * RATE_PER_S * interval_s  # generous on a busy 2-core box
