"""Each quantization mode on the digits CNNs: smaller, inside the 1-point budget, loadable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from utils.compression import (
    CalibrationMethod,
    Feed,
    Precision,
    QuantFormat,
    WeightType,
    convert_fp16,
    feeds_from_digits,
    quantize,
    quantize_dynamic_int8,
    quantize_static_int8,
)
from utils.compression.evaluate import digits_accuracy, infer_layout
from utils.runtime import create_session

BUDGET = 0.01


def _ops(path: Path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def test_dynamic_int8_per_channel_is_smaller_and_keeps_accuracy(
    torch_cnn: Path, torch_accuracy: float, tmp_path: Path
) -> None:
    report = quantize_dynamic_int8(torch_cnn, tmp_path / "dyn.onnx")
    assert report.size_ratio < 0.4
    assert torch_accuracy - digits_accuracy(report.output) <= BUDGET


def test_dynamic_int8_per_tensor_unsigned_loads_in_onnxruntime(
    torch_cnn: Path, tmp_path: Path
) -> None:
    report = quantize_dynamic_int8(
        torch_cnn, tmp_path / "dyn-u8.onnx", per_channel=False, weight_type=WeightType.UINT8
    )
    session = create_session(report.output)
    assert session.get_outputs()[0].name == "logits"
    assert report.details["weight_type"] == "uint8" and report.details["per_channel"] is False


def test_dynamic_int8_on_dense_layers_only_leaves_convolutions_in_float(
    torch_cnn: Path, tmp_path: Path
) -> None:
    report = quantize_dynamic_int8(torch_cnn, tmp_path / "dense.onnx", op_types=["MatMul", "Gemm"])
    ops = _ops(report.output)
    assert "Conv" in ops and "ConvInteger" not in ops


@pytest.mark.parametrize("method", list(CalibrationMethod))
def test_static_qdq_int8_with_each_calibration_method_keeps_accuracy(
    method: CalibrationMethod,
    torch_cnn: Path,
    torch_calibration: list[Feed],
    torch_accuracy: float,
    tmp_path: Path,
) -> None:
    report = quantize_static_int8(
        torch_cnn, tmp_path / f"{method}.onnx", torch_calibration, method=method
    )
    assert report.size_ratio < 0.35
    assert torch_accuracy - digits_accuracy(report.output) <= BUDGET


def test_static_qoperator_format_writes_quantized_operators(
    torch_cnn: Path, torch_calibration: list[Feed], tmp_path: Path
) -> None:
    report = quantize_static_int8(
        torch_cnn, tmp_path / "qop.onnx", torch_calibration, quant_format=QuantFormat.QOPERATOR
    )
    assert "QLinearConv" in _ops(report.output)


def test_nodes_to_exclude_stay_in_float(
    torch_cnn: Path, torch_calibration: list[Feed], tmp_path: Path
) -> None:
    last = [n.name for n in onnx.load(str(torch_cnn)).graph.node][-1]
    report = quantize_static_int8(
        torch_cnn, tmp_path / "keep.onnx", torch_calibration, nodes_to_exclude=[last]
    )
    kept = [n for n in onnx.load(str(report.output)).graph.node if n.name == last]
    assert kept and kept[0].op_type in {"Gemm", "FusedGemm", "MatMul"}


def test_fp16_halves_the_file_and_keeps_float32_inputs_and_outputs(
    torch_cnn: Path, torch_accuracy: float, tmp_path: Path
) -> None:
    report = convert_fp16(torch_cnn, tmp_path / "half.onnx")
    session = create_session(report.output)
    assert report.size_ratio < 0.55
    assert (
        session.get_inputs()[0].type == "tensor(float)"
        and session.get_outputs()[0].type == "tensor(float)"
    )
    assert torch_accuracy - digits_accuracy(report.output) <= BUDGET


def test_static_int8_on_the_keras_cnn_keeps_accuracy(keras_cnn: Path, tmp_path: Path) -> None:
    name, layout = infer_layout(keras_cnn)
    report = quantize(
        keras_cnn,
        tmp_path / "keras.onnx",
        Precision.INT8_STATIC,
        calibration=feeds_from_digits(name, layout),
    )
    assert report.size_ratio < 0.4
    assert digits_accuracy(keras_cnn) - digits_accuracy(report.output) <= BUDGET


def test_quantize_leaves_nothing_in_the_working_directory(
    torch_cnn: Path, torch_calibration: list[Feed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    quantize_static_int8(torch_cnn, tmp_path / "out.onnx", torch_calibration)
    assert list(cwd.iterdir()) == []


def test_static_int8_computes_the_exact_integers_so_every_cpu_gives_the_same_answers(
    keras_cnn: Path, tmp_path: Path
) -> None:
    """With 7-bit weights (the default) AVX2's 16-bit pair sums cannot saturate: this
    CPU's int8 kernels match the exact-arithmetic run of the same file (optimizations
    off: each quantized operator computed in float), which is what VNNI CPUs compute.
    With 8-bit weights the Keras CNN's logits were off by 4.2 here (results/int8_cpus.json)."""
    import onnxruntime as ort

    from utils.digits import load_split, to_layout

    name, layout = infer_layout(keras_cnn)
    out = tmp_path / "int8.onnx"
    quantize_static_int8(keras_cnn, out, feeds_from_digits(name, layout))
    x = {name: to_layout(load_split().x_test, layout)}
    kernels = create_session(out).run(None, x)[0]
    exact = create_session(out, optimization=ort.GraphOptimizationLevel.ORT_DISABLE_ALL).run(
        None, x
    )[0]
    assert np.abs(kernels - exact).max() < 1e-3
