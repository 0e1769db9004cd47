"""model_compression.py, the benchmark and make compress, run for real in quick mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tp_quantization.conftest import run_tool
from utils.deployment_helpers.manifest import read_manifest


def test_compress_demo_models_publishes_cnn_variants_and_skips_sklearn(
    repository: Path, tmp_path: Path
) -> None:
    done = run_tool("compress_demo_models.py", "--repository", str(repository), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2" in read_manifest(repository / "digits_torch").versions
    assert "2" in read_manifest(repository / "digits_keras").versions
    assert list(read_manifest(repository / "digits_sklearn").versions) == ["1"]


def test_quick_benchmark_of_one_model_writes_json_markdown_and_plots(
    repository: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    done = run_tool(
        "benchmarks/run_benchmarks.py",
        "--quick",
        "--repository",
        str(repository),
        "--models",
        "digits_torch",
        "--output",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads((out / "results.json").read_text())["families"][0]["rows"]
    assert {"fp32", "int8-static-qdq-minmax", "fp16"} <= {r["variant"] for r in rows}
    assert all(r["peak_rss_mb"] > 0 and r["latency_ms_p99"] >= r["latency_ms_p50"] for r in rows)
    assert (out / "digits_torch_size_latency.png").stat().st_size > 0 and "onnxruntime" in (
        out / "REPORT.md"
    ).read_text()


@pytest.mark.slow
def test_model_compression_quick_writes_reports_for_every_method(tmp_path: Path) -> None:
    done = run_tool(
        "model_compression.py",
        "--quick",
        "--out",
        str(tmp_path / "onnx"),
        "--results",
        str(tmp_path / "results"),
        cwd=tmp_path,
        timeout_s=600,
    )
    assert done.returncode == 0, done.stderr
    rows = {
        r["variant"]: r
        for r in json.loads((tmp_path / "results/model_compression.json").read_text())
    }
    assert rows["structured keep 50%"]["size_bytes"] < rows["fp32 teacher"]["size_bytes"]
    assert rows["student distilled"]["parameters"] < rows["fp32 teacher"]["parameters"] / 10
    assert (tmp_path / "results/model_compression.png").is_file()
