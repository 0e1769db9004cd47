"""TP_ONNX/onnx_inference.py: predictions from .npy, JSON and images; the benchmark."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np

from tests.tp_onnx.conftest import TP_ONNX, run_tool
from utils.digits import load_split, to_layout
from utils.paths import DEFAULT_MODEL_REPOSITORY, TESTDATA

TORCH_MODEL = DEFAULT_MODEL_REPOSITORY / "digits_torch" / "1" / "model.onnx"
SKLEARN_MODEL = DEFAULT_MODEL_REPOSITORY / "digits_sklearn" / "1" / "model.onnx"


def test_a_photo_of_a_3_is_predicted_as_3(workdir: Path) -> None:
    result = run_tool(
        "onnx_inference.py",
        "--model",
        TORCH_MODEL,
        "--image",
        TESTDATA / "digit_3.png",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert "digit_3.png: 3" in result.stdout


def test_predictions_can_be_written_as_json(workdir: Path) -> None:
    images = [TESTDATA / f"digit_{d}.jpg" for d in (0, 5, 9)]
    result = run_tool(
        "onnx_inference.py",
        "--model",
        SKLEARN_MODEL,
        "--image",
        *images,
        "--output-json",
        "p.json",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert [r["label"] for r in json.loads((workdir / "p.json").read_text())] == ["0", "5", "9"]


def test_a_npy_batch_gets_one_prediction_per_sample(workdir: Path) -> None:
    split = load_split()
    np.save(workdir / "x.npy", to_layout(split.x_test[:5], "NCHW"))
    result = run_tool(
        "onnx_inference.py",
        "--model",
        TORCH_MODEL,
        "--npy",
        "x.npy",
        "--output-json",
        "p.json",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    labels = [int(r["label"]) for r in json.loads((workdir / "p.json").read_text())]
    assert labels == split.y_test[:5].tolist()


def test_a_v2_json_request_is_accepted(workdir: Path) -> None:
    x = to_layout(load_split().x_test[:2], "flat")
    request = {
        "inputs": [
            {"name": "input", "shape": [2, 64], "datatype": "FP32", "data": x.ravel().tolist()}
        ]
    }
    (workdir / "r.json").write_text(json.dumps(request))
    result = run_tool(
        "onnx_inference.py", "--model", SKLEARN_MODEL, "--json", "r.json", cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("sample ") == 2


def test_a_corrupt_image_exits_2_with_one_line(workdir: Path) -> None:
    data = (TESTDATA / "digit_3.png").read_bytes()
    (workdir / "cut.png").write_bytes(data[: len(data) // 3])
    result = run_tool(
        "onnx_inference.py", "--model", TORCH_MODEL, "--image", "cut.png", cwd=workdir
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "corrupt or truncated" in result.stderr


def test_a_npy_of_the_wrong_shape_exits_2(workdir: Path) -> None:
    np.save(workdir / "x.npy", np.zeros((2, 5), np.float32))
    result = run_tool("onnx_inference.py", "--model", TORCH_MODEL, "--npy", "x.npy", cwd=workdir)
    assert result.returncode == 2 and "does not fit" in result.stderr


def test_a_missing_model_exits_2(workdir: Path) -> None:
    result = run_tool("onnx_inference.py", "--model", "nope.onnx", "--npy", "x.npy", cwd=workdir)
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_the_quick_benchmark_compares_ort_and_sklearn_on_every_batch_and_thread_count(
    workdir: Path,
) -> None:
    result = run_tool(
        "onnx_inference.py",
        "--model",
        SKLEARN_MODEL,
        "--benchmark",
        "--quick",
        "--report",
        "bench.json",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((workdir / "bench.json").read_text())
    cells = {(r["runtime"], r["threads"], r["batch_size"]) for r in report["rows"]}
    assert cells == {
        (rt, t, b) for rt in ("onnxruntime", "sklearn") for t in (1, 2) for b in (1, 8, 32, 128)
    }
    assert len(report["speedup_p50"]) == 8
    assert (workdir / "bench.png").stat().st_size > 0


def test_a_corrupt_onnx_file_exits_2_with_one_line(workdir: Path) -> None:
    data = TORCH_MODEL.read_bytes()
    (workdir / "cut.onnx").write_bytes(data[: len(data) // 2])
    result = run_tool(
        "onnx_inference.py", "--model", "cut.onnx", "--image", TESTDATA / "digit_3.png", cwd=workdir
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "cannot load cut.onnx" in result.stderr


def test_a_json_object_keyed_by_input_name_is_accepted(workdir: Path) -> None:
    x = to_layout(load_split().x_test[:3], "NCHW")
    (workdir / "x.json").write_text(json.dumps({"input": x.tolist()}))
    result = run_tool("onnx_inference.py", "--model", TORCH_MODEL, "--json", "x.json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("sample ") == 3


def _inference_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "framework_benchmark", TP_ONNX / "framework_benchmark.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_finds_the_framework_source_of_a_repository_model() -> None:
    source = _inference_module().find_source(TORCH_MODEL, None)
    assert source == TP_ONNX / "digits_cnn.pt2"


def test_the_benchmark_finds_the_source_of_a_standalone_converted_file(workdir: Path) -> None:
    trusted = [
        arg
        for name in ("_CalibratedClassifier", "_SigmoidCalibration")  # the calibrated SVC's
        for arg in ("--trust-type", f"sklearn.calibration.{name}")
    ]
    done = run_tool(
        "model_conversion.py",
        "--input",
        TP_ONNX / "model.skops",
        "--output",
        "m.onnx",
        *trusted,
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr
    assert _inference_module().find_source(workdir / "m.onnx", None) == TP_ONNX / "model.skops"
