"""The figures of the root README.md are the committed results' figures."""

from __future__ import annotations

from typing import Any

from .figures import assert_quoted

DOC = "README.md"
BENCH_SERVE = "TP_Docker/benchmarks/bench_serve.json"
SIZES = "deploy/SIZES.json"


def speedup_range(rows: list[dict[str, Any]]) -> str:
    values = [row["source_over_ort"] for row in rows]
    return f"{min(values):.0f}-{max(values):.0f}"


def test_the_serving_speed_ups_are_the_committed_bench_serve_ones() -> None:
    assert_quoted(DOC, r"run it is ([\d.]+)x faster", BENCH_SERVE,
                  "targets.ratio_vs_bare_fastapi.value", "{:.2f}")  # fmt: skip
    assert_quoted(DOC, r"and ([\d.]+)x a\s+one-file Flask", BENCH_SERVE,
                  "targets.ratio_vs_seed_flask.value", "{:.1f}")  # fmt: skip


def test_the_sizes_are_the_measured_ones() -> None:
    assert_quoted(DOC, r"worker takes (\d+) MB resident", BENCH_SERVE,
                  "targets.rss_mb_per_worker.value", "{:.0f}")  # fmt: skip
    assert_quoted(DOC, r"the container ([\d.]+) MB", SIZES, "image_venv.mb", "{}")
    assert_quoted(DOC, r"serverless bundle ([\d.]+) MB", SIZES, "vercel_function_unzipped.mb",
                  "{}")  # fmt: skip
    assert_quoted(DOC, r"one Python function \(([\d.]+) MB\)", SIZES,
                  "vercel_function_unzipped.mb", "{}")  # fmt: skip


def test_the_demo_models_accuracies_are_their_manifests() -> None:
    for name, framework in (("torch", "torch"), ("keras", "Keras"), ("sklearn", "scikit-learn")):
        assert_quoted(DOC, rf"(0\.\d+)\s+\({framework}\)", f"models/digits_{name}/manifest.json",
                      "versions.1.metrics.accuracy", "{:.3f}")  # fmt: skip


def test_the_runtime_speed_ups_are_the_committed_benchmarks() -> None:
    for name, words in (("torch", "than PyTorch"), ("keras", "than\\s+eager Keras"),
                        ("sklearn", "than scikit-learn")):  # fmt: skip
        assert_quoted(DOC, rf"([\d]+-[\d]+)x faster\s+{words}",
                      f"TP_ONNX/benchmarks/digits_{name}.json", "speedup_p50",
                      speedup_range)  # fmt: skip


def test_the_compression_figures_are_the_published_variants_and_minilm_results() -> None:
    assert_quoted(DOC, r"digits CNN: (\d+ %) of the fp32 size", "models/digits_torch/manifest.json",
                  "versions.2.metrics.size_ratio", lambda v: f"{v * 100:.0f} %")  # fmt: skip
    assert_quoted(DOC, r"-> ([\d.]+ %) of the fp32 size", "TP_Quantization/results/minilm.json",
                  "size_ratio", lambda v: f"{v * 100:.1f} %")  # fmt: skip
    assert_quoted(DOC, r"worst cosine to fp32 (\d\.\d+)", "TP_Quantization/results/minilm.json",
                  "fidelity_batch1.cosine_min", "{:.3f}")  # fmt: skip
