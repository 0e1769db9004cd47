"""utils.testing.benchmark: latency percentiles and throughput of any callable."""

from __future__ import annotations

import time

import pytest

from utils.errors import BadInput
from utils.testing.benchmark import measure_latency, stats_from_samples


def test_percentiles_come_from_the_timed_calls() -> None:
    stats = stats_from_samples([1_000_000] * 98 + [5_000_000, 9_000_000])
    assert stats.p50_ms == pytest.approx(1.0)
    assert stats.p99_ms > stats.p95_ms >= stats.p50_ms
    assert stats.max_ms == pytest.approx(9.0)


def test_throughput_counts_items_not_calls() -> None:
    stats = stats_from_samples([2_000_000] * 10, batch_size=32)
    assert stats.throughput_per_s == pytest.approx(32 / 0.002)


def test_a_sleeping_function_measures_at_least_its_sleep() -> None:
    stats = measure_latency(lambda: time.sleep(0.002), warmup=1, repeats=5)
    assert stats.repeats == 5
    assert stats.min_ms >= 2.0


def test_warm_up_calls_are_made_but_not_timed() -> None:
    calls: list[int] = []
    stats = measure_latency(lambda: calls.append(1), warmup=3, repeats=7)
    assert len(calls) == 10 and stats.repeats == 7


def test_zero_repeats_is_refused() -> None:
    with pytest.raises(BadInput, match="repeats"):
        measure_latency(lambda: None, warmup=0, repeats=0)
