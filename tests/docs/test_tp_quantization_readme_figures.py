"""The figures of TP_Quantization/README.md are the committed benchmark and results files'.

The "Measured here" table is rendered from TP_Quantization/benchmarks/results.json by
:func:`measured_table`; on a mismatch the assertion shows the table to paste.
"""

from __future__ import annotations

from typing import Any

from utils.paths import PROJECT_ROOT

from .figures import assert_quoted, results_value

DOC = "TP_Quantization/README.md"
BENCH = "TP_Quantization/benchmarks/results.json"
MINILM = "TP_Quantization/results/minilm.json"
INT8 = "TP_Quantization/results/int8_cpus.json"
BEGIN, END = "<!-- measured-table: begin -->", "<!-- measured-table: end -->"


def _size(size_bytes: int) -> str:
    if size_bytes >= 1e6:
        return f"{size_bytes / 1e6:.1f} MB"
    return f"{size_bytes / 1e3:.0f} KB" if size_bytes >= 1e4 else f"{size_bytes / 1e3:.1f} KB"


def _quality(row: dict[str, Any]) -> str:
    if "accuracy" in row:
        return f"{row['accuracy']:.4f}"
    return f"worst cosine {row['cosine_min']:.4f}, NN {row['nn_agreement']:.3f}"


def _latency(row: dict[str, Any]) -> str:
    ms = row["latency_ms_p50"]
    return f"{ms:.1f} ms (seq 128)" if ms >= 1 else f"{ms * 1000:.0f} us"


def measured_table() -> str:
    lines = [
        "| model | variant | size | vs fp32 | accuracy / fidelity | p50 batch 1 | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for family in results_value(BENCH, "families"):
        for row in family["rows"]:
            lines.append(
                f"| {family['name']} | {row['variant']} | {_size(row['size_bytes'])} | "
                f"{row['size_ratio']:.0%} | {_quality(row)} | {_latency(row)} | "
                f"{row['peak_rss_mb']:.0f} MB |"
            )
    return "\n".join(lines)


def test_the_measured_table_is_the_committed_benchmark_report() -> None:
    text = (PROJECT_ROOT / DOC).read_text()
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = measured_table()
    assert block == expected, f"paste this between the markers of {DOC}:\n{expected}"


def test_the_minilm_targets_table_is_the_minilm_results() -> None:
    assert_quoted(DOC, r"\| size <= 25 % of fp32 \| ([\d.]+) MB", MINILM, "size_bytes.fp32",
                  lambda v: f"{v / 1e6:.1f}")  # fmt: skip
    assert_quoted(DOC, r"of fp32 \| [\d.]+ MB \| ([\d.]+) MB", MINILM, "size_bytes.int8",
                  lambda v: f"{v / 1e6:.1f}")  # fmt: skip
    assert_quoted(DOC, r"MB \(([\d.]+) %\) \| yes", MINILM, "size_ratio",
                  lambda v: f"{v * 100:.1f}")  # fmt: skip
    assert_quoted(DOC, r"\(1 thread\) \| ([\d.]+) ms", MINILM,
                  "latency_ms_batch1_seq128.fp32.p50_ms", "{:.1f}")  # fmt: skip
    assert_quoted(DOC, r"\(1 thread\) \| [\d.]+ ms \| ([\d.]+) ms", MINILM,
                  "latency_ms_batch1_seq128.int8.p50_ms", "{:.1f}")  # fmt: skip
    assert_quoted(DOC, r"ms \(x([\d.]+)\) \| yes", MINILM, "latency_ratio", "{:.2f}")
    assert_quoted(DOC, r"\(mean\) \| 1 \| ([\d.]+) \(", MINILM, "fidelity_batch1.cosine_min",
                  "{:.4f}")  # fmt: skip
    assert_quoted(DOC, r"\(mean\) \| 1 \| [\d.]+ \(([\d.]+)\)", MINILM,
                  "fidelity_batch1.cosine_mean", "{:.4f}")  # fmt: skip
    assert_quoted(DOC, r"agreement >= 0.95 \| 1 \| ([\d.]+)", MINILM,
                  "fidelity_batch1.nn_agreement", "{:.3f}")  # fmt: skip
    assert_quoted(DOC, r"\(task quality\) \| ([\d.]+)", MINILM, "fp32_group_accuracy", "{:.3f}")


def test_the_minilm_alternatives_are_the_minilm_results() -> None:
    default = "alternatives_not_published.int8 ORT default per-channel"
    no_split = "alternatives_not_published.int8 4-bit emb, no outlier split"
    assert_quoted(DOC, r"per-channel is ([\d.]+) % of fp32", MINILM, f"{default}.size_ratio",
                  lambda v: f"{v * 100:.1f}")  # fmt: skip
    assert_quoted(DOC, r"of fp32 with a worst cosine of ([\d.]+);", MINILM,
                  f"{default}.cosine_min", "{:.4f}")  # fmt: skip
    assert_quoted(DOC, r"no outlier split is ([\d.]+) %", MINILM, f"{no_split}.size_ratio",
                  lambda v: f"{v * 100:.1f}")  # fmt: skip
    assert_quoted(DOC, r"NN agreement ([\d.]+)\.", MINILM, f"{no_split}.nn_agreement",
                  "{:.2f}")  # fmt: skip
    assert_quoted(DOC, r"keeps a worst cosine of ([\d.]+)\.", MINILM,
                  "fidelity_batch8.cosine_min", "{:.3f}")  # fmt: skip


def test_the_int8_cpu_figures_are_the_int8_cpus_results() -> None:
    full = "rows[model=digits_keras,recipe=qdq 8-bit weights]"
    reduced = "rows[model=digits_keras,recipe=qdq 7-bit weights (reduce_range)]"
    assert_quoted(DOC, r"8-bit weights the Keras CNN\s+scores ([\d.]+) here", INT8,
                  f"{full}.accuracy_here", "{:.4f}")  # fmt: skip
    assert_quoted(DOC, r"against ([\d.]+) in exact arithmetic", INT8,
                  f"{full}.accuracy_exact", "{:.4f}")  # fmt: skip
    assert_quoted(DOC, r"logits off by up to ([\d.]+)\)", INT8,
                  f"{full}.max_logit_diff_vs_exact", "{:.1f}")  # fmt: skip
    assert_quoted(DOC, r"with\s+7-bit weights it scores ([\d.]+)", INT8,
                  f"{reduced}.accuracy_here", "{:.4f}")  # fmt: skip


SAMPLE_BEGIN, SAMPLE_END = "<!-- auto-sample: begin -->", "<!-- auto-sample: end -->"


def auto_sample() -> str:
    """What `make compress` printed for digits_torch, from what it recorded in version 2
    (latencies left out: they move with the machine's load)."""
    manifest = "models/digits_torch/manifest.json"
    fp32, details = results_value(manifest, "versions.1"), results_value(manifest, "versions.2")
    chosen = details["details"]["recipe"]
    lines = [
        "```",
        "| recipe | size_bytes | size_ratio | accuracy | within_budget | chosen |",
        f"| fp32 (original) | {fp32['size_bytes']} | 1 | {fp32['metrics']['accuracy']:.4f} "
        "| yes |  |",
    ]
    for c in details["details"]["candidates"]:
        mark = "<--" if c["recipe"] == chosen else ""
        lines.append(
            f"| {c['recipe']} | {c['size_bytes']} | {c['size_ratio']:.4f} | {c['metric']:.4f} "
            f"| {'yes' if c['within_budget'] else 'no'} | {mark} |"
        )
    lines += [
        f"Chosen: {details['details']['reason'].split(';')[0]}; ...",
        "Published models/digits_torch/2/model.onnx as digits_torch version 2",
        "```",
    ]
    return "\n".join(lines)


def test_the_auto_sample_is_what_make_compress_recorded_for_digits_torch() -> None:
    text = (PROJECT_ROOT / DOC).read_text()
    block = text.split(SAMPLE_BEGIN, 1)[1].split(SAMPLE_END, 1)[0].strip()
    expected = auto_sample()
    assert block == expected, f"paste this between the markers of {DOC}:\n{expected}"


def test_the_evaluation_sentence_count_is_the_minilm_results() -> None:
    assert_quoted(DOC, r"minilm.json\), (\d+) evaluation sentences", MINILM, "sentences", "{}")
    assert_quoted(DOC, r"no outlier split is [\d.]+ % with ([\d.]+) and", MINILM,
                  "alternatives_not_published.int8 4-bit emb, no outlier split.cosine_min",
                  "{:.4f}")  # fmt: skip
