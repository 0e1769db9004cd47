"""The serving benchmark's report: ratios and targets computed from the runs, not typed in."""

from __future__ import annotations

import json

from TP_Docker.benchmarks.bench_serve import (
    REFERENCE,
    Run,
    build_report,
    combine,
    markdown_tables,
)
from utils.paths import PROJECT_ROOT


def _run(name: str, rps: float, p99_ms: float = 5.0, failures: int = 0) -> Run:
    return Run(name, rps, 1.0, p99_ms, int(rps * 10), failures, 100.0)


def _runs(**rps: float) -> dict[str, Run]:
    return {name: _run(name, value) for name, value in rps.items()}


def test_targets_are_met_when_every_number_is_on_the_right_side() -> None:
    runs = _runs(
        raw_asgi=20000, bare_fastapi=5000, seed_flask=1000, ours=8000, batching_on=2500,
        batching_off=800,
    )  # fmt: skip
    report = build_report(runs, cold_start=0.5, duration=1.0)
    assert all(t["met"] for t in report["targets"].values())  # type: ignore[union-attr]


def test_a_server_under_1_5_times_bare_fastapi_misses_the_ratio_target() -> None:
    runs = _runs(bare_fastapi=5000, seed_flask=1000, ours=7000, batching_on=2500, batching_off=800)
    targets = build_report(runs, cold_start=0.5, duration=1.0)["targets"]
    assert targets["ratio_vs_bare_fastapi"] == {"value": 1.4, "target": ">= 1.5", "met": False}  # type: ignore[index]


def test_a_server_under_0_30_of_the_raw_asgi_app_misses_the_share_target() -> None:
    runs = _runs(
        raw_asgi=30000, bare_fastapi=5000, seed_flask=1000, ours=8000, batching_on=2500,
        batching_off=800,
    )  # fmt: skip
    targets = build_report(runs, cold_start=0.5, duration=1.0)["targets"]
    assert targets["share_of_raw_asgi"] == {"value": 0.267, "target": ">= 0.30", "met": False}  # type: ignore[index]


def test_any_failed_request_misses_the_zero_failure_target() -> None:
    runs = _runs(bare_fastapi=5000, seed_flask=1000, ours=6000, batching_on=2500, batching_off=800)
    runs["batching_on"] = _run("batching_on", 2500, failures=3)
    targets = build_report(runs, cold_start=0.5, duration=1.0)["targets"]
    assert targets["failed_requests_ours"]["met"] is False  # type: ignore[index]


def test_the_readme_tables_are_the_committed_benchmark_results() -> None:
    """TP_Docker/README.md quotes bench_serve.json's tables verbatim (re-measured with
    ``make bench-serve-reference``, pasted from its output)."""
    report = json.loads(REFERENCE.read_text())
    readme = (PROJECT_ROOT / "TP_Docker" / "README.md").read_text()
    assert markdown_tables(report) in readme


def test_a_prediction_log_costing_a_tenth_of_the_throughput_misses_the_overhead_target() -> None:
    runs = _runs(
        bare_fastapi=5000, seed_flask=1000, ours=7200, ours_log_off=8000, batching_on=2500,
        batching_off=800,
    )  # fmt: skip
    targets = build_report(runs, cold_start=0.5, duration=1.0)["targets"]
    assert targets["log_overhead"] == {"value": 0.1, "target": "< 0.10", "met": False}  # type: ignore[index]


def test_a_row_of_interleaved_rounds_is_its_median_round_not_its_mean() -> None:
    rounds = [_run("ours", rps) for rps in (2000, 2100, 3400, 2050, 1990)]
    row = combine("ours", rounds)
    assert row.rps == 2050
    assert row.rounds_rps == [2000, 2100, 3400, 2050, 1990]
    assert row.requests == sum(r.requests for r in rounds)


def test_the_monitor_overhead_is_judged_on_its_own_pair_of_servers() -> None:
    runs = _runs(
        bare_fastapi=5000, seed_flask=1000, ours=6000, ours_monitor_off=8000, monitor_on=7600,
        monitor_off=8000, batching_on=2500, batching_off=800,
    )  # fmt: skip
    targets = build_report(runs, cold_start=0.5, duration=1.0)["targets"]
    assert targets["monitor_overhead"] == {"value": 0.05, "target": "< 0.10", "met": True}  # type: ignore[index]


def test_the_api_before_the_data_plane_is_reported_against_the_same_ratio_targets() -> None:
    runs = _runs(
        raw_asgi=20000, bare_fastapi=2000, seed_flask=400, ours=2300, ours_monitor_off=2500,
        api_before=2500, batching_on=800, batching_off=150,
    )  # fmt: skip
    reference = build_report(runs, cold_start=0.5, duration=1.0)["reference"]
    assert reference == {
        "api_before_vs_bare_fastapi": 1.25,
        "api_before_share_of_raw_asgi": 0.125,
        "ours_vs_api_before": 0.92,
        "ours_monitor_off_vs_api_before": 1.0,
    }


def test_a_report_without_the_api_before_has_no_reference_ratios() -> None:
    runs = _runs(bare_fastapi=5000, seed_flask=1000, ours=8000, batching_on=2500, batching_off=800)
    report = build_report(runs, cold_start=0.5, duration=1.0)
    assert "reference" not in report
    assert "reference ratio" not in markdown_tables(report)
