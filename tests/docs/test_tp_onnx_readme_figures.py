"""The figures of TP_ONNX/README.md are the committed manifests' and benchmarks' figures."""

from __future__ import annotations

from typing import Any

from utils.paths import PROJECT_ROOT

from .figures import assert_quoted, results_value
from .test_readme_figures import speedup_range

DOC = "TP_ONNX/README.md"
FRAMEWORK = {"torch": "torch", "keras": "keras", "sklearn": "sklearn"}


def manifest(name: str) -> str:
    return f"models/digits_{name}/manifest.json"


def test_the_conversion_table_is_the_published_version_1_of_each_demo_model() -> None:
    for name in ("torch", "keras", "sklearn"):
        info = results_value(manifest(name), "versions.1")
        ((output, diff),) = info["parity"]["max_abs_diff"].items()
        size = info["size_bytes"] / 1024
        optimization = info["optimization"]
        size_text = f"{size:.0f}" if size >= 10 else f"{size:.1f}"
        accuracy = info["metrics"]["accuracy"]
        expected = f"| {size_text} KB | {accuracy:.4f} | {diff:.1e} ({output}) | "
        expected = expected.replace("0.0e+00", "0.0").replace("e-0", "e-")
        expected += (
            f"{info['parity']['label_agreement']:.0%} | ".replace("%", " %")
            + f"{optimization['nodes_before']} -> {optimization['nodes_after']} |"
        )
        row = next(
            line
            for line in (PROJECT_ROOT / DOC).read_text().splitlines()
            if line.startswith(f"| `digits_{name}` |")
        )
        assert row.endswith(expected), f"{DOC}: {row!r} should end with {expected!r}"


def _benchmark_rows(name: str) -> list[str]:
    report = results_value(f"TP_ONNX/benchmarks/digits_{name}.json", "rows")
    ort = {(r["threads"], r["batch_size"]): r for r in report if r["runtime"] == "onnxruntime"}
    source = {(r["threads"], r["batch_size"]): r for r in report if r["runtime"] != "onnxruntime"}

    def cells(row: dict[str, Any]) -> tuple[str, str]:
        latency = f"{row['p50_ms']:.3f} / {row['p95_ms']:.3f} / {row['p99_ms']:.3f}"
        return latency, f"{row['batch_size'] / row['p50_ms'] * 1000:,.0f}"

    lines = []
    for key in sorted(ort):
        (ort_latency, ort_rate), (src_latency, src_rate) = cells(ort[key]), cells(source[key])
        lines.append(
            f"| {FRAMEWORK[name]} | {key[0]} | {key[1]} | {ort_latency} | {src_latency} | "
            f"{ort_rate} | {src_rate} | x{source[key]['p50_ms'] / ort[key]['p50_ms']:.1f} |"
        )
    return lines


def test_the_latency_table_is_the_committed_benchmark_reports() -> None:
    text = (PROJECT_ROOT / DOC).read_text()
    for name in FRAMEWORK:
        for line in _benchmark_rows(name):
            assert line in text, f"{DOC} lacks the row {line!r} of TP_ONNX/benchmarks/"


def test_the_speed_up_ranges_in_the_reading_guide_are_the_reports() -> None:
    for name, words in (("torch", "than eager PyTorch"), ("keras", "than calling"),
                        ("sklearn", "than scikit-learn")):  # fmt: skip
        report = f"TP_ONNX/benchmarks/digits_{name}.json"
        assert_quoted(DOC, rf"(\d+-\d+)x\s+faster\s+{words}", report, "speedup_p50",
                      speedup_range)  # fmt: skip


def test_the_thread_figures_in_the_reading_guide_are_the_torch_report() -> None:
    report = "TP_ONNX/benchmarks/digits_torch.json"
    one = "rows[runtime=onnxruntime,threads=1,batch_size={}].p50_ms"
    two = "rows[runtime=onnxruntime,threads=2,batch_size={}].p50_ms"
    assert_quoted(DOC, r"batch 1 \(([\d.]+) ->", report, one.format(1), "{:.3f}")
    assert_quoted(DOC, r"batch 1 \([\d.]+ -> ([\d.]+) ms", report, two.format(1), "{:.3f}")
    assert_quoted(DOC, r"batch 128: ([\d.]+) ->", report, one.format(128), "{:.2f}")
    assert_quoted(DOC, r"batch 128: [\d.]+ -> ([\d.]+) ms", report, two.format(128), "{:.2f}")


def test_the_keras_dispatch_cost_is_the_keras_report() -> None:
    assert_quoted(DOC, r"costs about (\d+) ms of", "TP_ONNX/benchmarks/digits_keras.json",
                  "rows[runtime=keras,threads=1,batch_size=1].p50_ms", "{:.0f}")  # fmt: skip


def test_the_atol_exercise_quotes_the_keras_and_torch_parity() -> None:
    for name, framework in (("torch", "torch"), ("keras", "Keras")):
        assert_quoted(DOC, rf"([\d.e-]+) \({framework}\)(?:,| and|, not) ", manifest(name),
                      "versions.1.parity.max_abs_diff.logits",
                      lambda v: f"{v:.1e}".replace("e-0", "e-"))  # fmt: skip


def test_the_sample_conversion_output_is_the_published_sklearn_model() -> None:
    assert_quoted(DOC, r"max\|diff\| probabilities ([\d.e-]+) \(atol", manifest("sklearn"),
                  "versions.1.parity.max_abs_diff.probabilities", "{:.1e}")  # fmt: skip
    assert_quoted(DOC, r"metrics     accuracy ([\d.]+) on", manifest("sklearn"),
                  "versions.1.metrics.accuracy", "{:.4f}")  # fmt: skip
    assert_quoted(DOC, r"model\.onnx \(([\d.]+) KB, opset", manifest("sklearn"),
                  "versions.1.size_bytes", lambda v: f"{v / 1024:.1f}")  # fmt: skip
