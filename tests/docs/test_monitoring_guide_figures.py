"""The serving figures docs/monitoring.md quotes are the committed benchmark's."""

from __future__ import annotations

from .figures import assert_quoted

DOC = "docs/monitoring.md"
BENCH_SERVE = "TP_Docker/benchmarks/bench_serve.json"


def test_the_writers_throughputs_are_the_committed_bench_serve_ones() -> None:
    for pattern, run in (
        (r"monitor detached answered ([\d,]+)\s+requests a second", "ours_monitor_off"),
        (r"ours with the log process (\d[\d,]*\d)", "ours"),
        (r"ours with the thread writer\s+([\d,]+)", "ours_log_thread"),
    ):
        assert_quoted(DOC, pattern, BENCH_SERVE, f"runs.{run}.rps", "{:,.0f}")


def test_the_monitors_overhead_is_the_committed_bench_serve_one() -> None:
    assert_quoted(DOC, r"the monitor costs ([\d.]+) of the throughput", BENCH_SERVE,
                  "targets.monitor_overhead.value", "{}")  # fmt: skip
