"""quantization_tools.py as a user runs it: from any folder, with clear exits."""

from __future__ import annotations

from pathlib import Path

from tests.tp_quantization.conftest import run_tool
from utils.deployment_helpers.manifest import read_manifest


def test_auto_publishes_the_chosen_variant_as_version_2_with_its_numbers(
    repository: Path, tmp_path: Path
) -> None:
    done = run_tool(
        "quantization_tools.py",
        "auto",
        "digits_torch",
        "--repository",
        str(repository),
        "--repeats",
        "30",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    record = read_manifest(repository / "digits_torch").version(2)
    assert record.variant.startswith("int8") and record.accuracy_budget == 0.01
    assert record.metrics["baseline_accuracy"] - record.metrics["accuracy"] <= 0.01
    assert "recipe" in record.details and "Chosen:" in done.stdout


def test_auto_run_twice_publishes_only_once(repository: Path, tmp_path: Path) -> None:
    for _ in range(2):
        done = run_tool(
            "quantization_tools.py",
            "auto",
            "digits_keras",
            "--repository",
            str(repository),
            "--repeats",
            "20",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
    assert sorted(read_manifest(repository / "digits_keras").versions) == ["1", "2"]


def test_auto_with_an_impossible_budget_exits_7_says_the_closest_and_publishes_nothing(
    repository: Path, tmp_path: Path
) -> None:
    done = run_tool(
        "quantization_tools.py",
        "auto",
        "digits_torch",
        "--repository",
        str(repository),
        "--budget",
        "-0.5",
        "--repeats",
        "10",
        cwd=tmp_path,
    )
    assert done.returncode == 7
    assert "closest:" in done.stderr and "nothing published" in done.stderr
    assert sorted(read_manifest(repository / "digits_torch").versions) == ["1"]


def test_auto_on_a_model_with_nothing_to_quantize_exits_7(repository: Path, tmp_path: Path) -> None:
    done = run_tool(
        "quantization_tools.py",
        "auto",
        "digits_sklearn",
        "--repository",
        str(repository),
        "--repeats",
        "10",
        cwd=tmp_path,
    )
    assert done.returncode == 7
    assert "nothing published" in done.stderr
    assert sorted(read_manifest(repository / "digits_sklearn").versions) == ["1"]


def test_static_subcommand_writes_a_smaller_model_and_prints_its_accuracy(
    repository: Path, tmp_path: Path
) -> None:
    out = tmp_path / "static.onnx"
    done = run_tool(
        "quantization_tools.py",
        "static",
        str(repository / "digits_torch/1/model.onnx"),
        str(out),
        "--method",
        "percentile",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size < 0.4 * (repository / "digits_torch/1/model.onnx").stat().st_size
    assert "; accuracy 0.9" in done.stdout and "on digits held-out split" in done.stdout


def test_a_file_that_is_not_onnx_exits_2_with_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_text("hello")
    done = run_tool(
        "quantization_tools.py", "dynamic", str(fake), str(tmp_path / "out.onnx"), cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error:") and "not a valid ONNX model" in done.stderr
    assert not (tmp_path / "out.onnx").exists()


def test_a_calibration_npy_of_the_wrong_shape_exits_2(repository: Path, tmp_path: Path) -> None:
    import numpy as np

    wrong = tmp_path / "calib.npy"
    np.save(wrong, np.zeros((8, 64), dtype=np.float32))
    done = run_tool(
        "quantization_tools.py",
        "static",
        str(repository / "digits_torch/1/model.onnx"),
        str(tmp_path / "out.onnx"),
        "--calibration",
        f"npy:{wrong}",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "shape" in done.stderr


def test_fp16_then_evaluate_report_size_and_accuracy_as_json(
    repository: Path, tmp_path: Path
) -> None:
    import json

    out = tmp_path / "half.onnx"
    done = run_tool(
        "quantization_tools.py",
        "fp16",
        str(repository / "digits_keras/1/model.onnx"),
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    shown = run_tool("quantization_tools.py", "evaluate", str(out), cwd=tmp_path)
    figures = json.loads(shown.stdout.strip().splitlines()[-1])
    assert figures["size_bytes"] == out.stat().st_size and figures["accuracy"] > 0.95


def test_auto_replaces_a_variant_whose_fp32_source_was_retrained(
    repository: Path, tmp_path: Path
) -> None:
    import onnx

    from utils.io import sha256_file

    args = ("auto", "digits_torch", "--repository", str(repository), "--repeats", "10")
    assert run_tool("quantization_tools.py", *args, cwd=tmp_path).returncode == 0
    fp32 = repository / "digits_torch" / "1" / "model.onnx"
    model = onnx.load(str(fp32))
    model.doc_string = "retrained"  # new bytes, as `make models` would produce
    onnx.save(model, str(fp32))
    done = run_tool("quantization_tools.py", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "removed version(s) [2]" in done.stdout
    record = read_manifest(repository / "digits_torch").version(2)
    assert record.details["source_sha256"] == sha256_file(fp32)
