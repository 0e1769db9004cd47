"""The figures TP_Docker/README.md's prose quotes are the committed benchmark's."""

from __future__ import annotations

from .figures import assert_quoted

DOC = "TP_Docker/README.md"
BENCH_SERVE = "TP_Docker/benchmarks/bench_serve.json"


def test_the_ratios_in_the_prose_are_the_committed_bench_serve_ones() -> None:
    assert_quoted(DOC, r"Our API answers\s+([\d.]+)x the bare endpoint", BENCH_SERVE,
                  "targets.ratio_vs_bare_fastapi.value", "{:.2f}")  # fmt: skip
    assert_quoted(DOC, r"monitor\s+detached answers ([\d,]+)/s", BENCH_SERVE,
                  "runs.ours_monitor_off.rps", "{:,.0f}")  # fmt: skip
    assert_quoted(DOC, r"the cost is (-?[\d.]+) \(`log_overhead`", BENCH_SERVE,
                  "targets.log_overhead.value", "{}")  # fmt: skip
    assert_quoted(DOC, r"the same API answers ([\d,]+)/s \(`ours_log_thread`\)", BENCH_SERVE,
                  "runs.ours_log_thread.rps", "{:,.0f}")  # fmt: skip
    assert_quoted(DOC, r"business metrics cost\s+([\d.]+) of that", BENCH_SERVE,
                  "targets.monitor_overhead.value", "{}")  # fmt: skip
    assert_quoted(DOC, r"raw\s+app \(([\d.]+) of it", BENCH_SERVE,
                  "targets.share_of_raw_asgi.value", "{}")  # fmt: skip


def test_the_reference_ratios_in_the_prose_are_the_committed_bench_serve_ones() -> None:
    assert_quoted(DOC, r"same rounds, answers ([\d.]+)x the bare endpoint", BENCH_SERVE,
                  "reference.api_before_vs_bare_fastapi", "{}")  # fmt: skip
    assert_quoted(DOC, r"endpoint\s+and ([\d.]+) of the raw app \(`reference`\)", BENCH_SERVE,
                  "reference.api_before_share_of_raw_asgi", "{}")  # fmt: skip
    assert_quoted(DOC, r"Ours answers ([\d.]+) of it with the monitor", BENCH_SERVE,
                  "reference.ours_vs_api_before", "{}")  # fmt: skip
    assert_quoted(DOC, r"([\d.]+) of it with the monitor detached", BENCH_SERVE,
                  "reference.ours_monitor_off_vs_api_before", "{}")  # fmt: skip


def test_the_flask_ratio_in_the_prose_is_the_committed_bench_serve_one() -> None:
    assert_quoted(DOC, r"Flask page answers ([\d.]+) of the page before", BENCH_SERVE,
                  "targets.flask_vs_before.value", "{}")  # fmt: skip
