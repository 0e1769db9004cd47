"""The figures of docs/best_practices.md are the committed results' figures."""

from __future__ import annotations

from .figures import assert_quoted, results_value

DOC = "docs/best_practices.md"
BENCH_QUANT = "TP_Quantization/benchmarks/results.json"
TORCH = "families[name=digits_torch].rows"


def test_the_size_table_is_sizes_json_and_bench_serve_json() -> None:
    assert_quoted(DOC, r"serving packages\) \| ([\d.]+) MB", "deploy/SIZES.json",
                  "image_venv.mb", "{}")  # fmt: skip
    assert_quoted(DOC, r"unzipped \| ([\d.]+) MB", "deploy/SIZES.json",
                  "vercel_function_unzipped.mb", "{}")  # fmt: skip
    assert_quoted(DOC, r"warmed\) \| ([\d.]+) s", "TP_Docker/benchmarks/bench_serve.json",
                  "targets.cold_start_s.value", "{}")  # fmt: skip
    assert_quoted(DOC, r"traffic \| ([\d.]+) MB", "TP_Docker/benchmarks/bench_serve.json",
                  "targets.rss_mb_per_worker.value", "{}")  # fmt: skip


def test_the_quantization_figures_are_the_benchmark_and_minilm_results() -> None:
    assert_quoted(DOC, r"digits CNN \((\d+) KB", BENCH_QUANT, f"{TORCH}[variant=fp32].size_bytes",
                  lambda v: f"{v / 1e3:.0f}")  # fmt: skip
    assert_quoted(DOC, r"KB, accuracy ([\d.]+)\)", BENCH_QUANT, f"{TORCH}[variant=fp32].accuracy",
                  "{:.4f}")  # fmt: skip
    assert_quoted(DOC, r"variant is (\d+) % of", "models/digits_torch/manifest.json",
                  "versions.2.metrics.size_ratio", lambda v: f"{v * 100:.0f}")  # fmt: skip
    fp32 = results_value(BENCH_QUANT, f"{TORCH}[variant=fp32].latency_ms_p50")
    assert_quoted(DOC, r"ran ([\d.]+)x slower", BENCH_QUANT,
                  f"{TORCH}[variant=int8-dynamic-per-channel].latency_ms_p50",
                  lambda v: f"{v / fp32:.1f}")  # fmt: skip
    assert_quoted(DOC, r"halves the size \((\d+) %\)", BENCH_QUANT,
                  f"{TORCH}[variant=fp16].size_ratio", lambda v: f"{v * 100:.0f}")  # fmt: skip
    minilm = "TP_Quantization/results/minilm.json"
    assert_quoted(DOC, r"worst cosine of only ([\d.]+)", minilm,
                  "alternatives_not_published.int8 ORT default per-channel.cosine_min",
                  "{:.4f}")  # fmt: skip
    assert_quoted(DOC, r"outlier channels\) keeps ([\d.]+)", minilm,
                  "fidelity_batch1.cosine_min", "{:.4f}")  # fmt: skip
