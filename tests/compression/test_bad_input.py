"""Every bad input gets a clear BadInput (exit code 2) and no half-written model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from utils.compression import (
    Feed,
    convert_fp16,
    feeds_from_npy,
    quantize_dynamic_int8,
    quantize_static_int8,
)
from utils.errors import BadInput


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n not a model")
    with pytest.raises(BadInput, match="not a valid ONNX model"):
        quantize_dynamic_int8(fake, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()


def test_a_missing_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        convert_fp16(tmp_path / "nowhere.onnx", tmp_path / "out.onnx")


def test_an_already_quantized_model_is_refused(torch_cnn: Path, tmp_path: Path) -> None:
    once = quantize_dynamic_int8(torch_cnn, tmp_path / "once.onnx").output
    with pytest.raises(BadInput, match="already int8"):
        quantize_dynamic_int8(once, tmp_path / "twice.onnx")
    assert not (tmp_path / "twice.onnx").exists()


def test_an_fp16_model_is_refused_as_already_compressed(torch_cnn: Path, tmp_path: Path) -> None:
    half = convert_fp16(torch_cnn, tmp_path / "half.onnx").output
    with pytest.raises(BadInput, match="already fp16"):
        convert_fp16(half, tmp_path / "quarter.onnx")


def test_calibration_of_the_wrong_shape_is_refused(torch_cnn: Path, tmp_path: Path) -> None:
    wrong: list[Feed] = [
        {"input": np.zeros((4, 8, 8, 1), dtype=np.float32)}
    ]  # NHWC for an NCHW model
    with pytest.raises(BadInput, match="shape"):
        quantize_static_int8(torch_cnn, tmp_path / "out.onnx", wrong)
    assert not (tmp_path / "out.onnx").exists()


def test_calibration_of_the_wrong_dtype_is_refused(torch_cnn: Path, tmp_path: Path) -> None:
    wrong: list[Feed] = [{"input": np.zeros((4, 1, 8, 8), dtype=np.float64)}]
    with pytest.raises(BadInput, match="dtype float64"):
        quantize_static_int8(torch_cnn, tmp_path / "out.onnx", wrong)


def test_calibration_with_a_wrong_input_name_is_refused(torch_cnn: Path, tmp_path: Path) -> None:
    wrong: list[Feed] = [{"pixels": np.zeros((4, 1, 8, 8), dtype=np.float32)}]
    with pytest.raises(BadInput, match="the model takes"):
        quantize_static_int8(torch_cnn, tmp_path / "out.onnx", wrong)


def test_an_empty_calibration_set_is_refused(torch_cnn: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="calibration set is empty"):
        quantize_static_int8(torch_cnn, tmp_path / "out.onnx", iter([]))


def test_an_empty_npy_calibration_file_is_refused(torch_cnn: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 1, 8, 8), dtype=np.float32))
    with pytest.raises(BadInput, match="empty"):
        quantize_static_int8(torch_cnn, tmp_path / "out.onnx", feeds_from_npy(empty, "input"))


def test_a_calibration_file_that_is_not_npy_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "data.npy"
    bogus.write_text("1,2,3\n")
    with pytest.raises(BadInput, match=r"not a \.npy array"):
        feeds_from_npy(bogus, "input")


def test_a_missing_output_folder_is_refused(torch_cnn: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        quantize_dynamic_int8(torch_cnn, tmp_path / "missing" / "out.onnx")


def test_a_model_with_nothing_to_quantize_is_refused(sklearn_model: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no Conv, MatMul, Gemm or Gather"):
        quantize_dynamic_int8(sklearn_model, tmp_path / "out.onnx")


def test_a_failed_compression_leaves_an_existing_output_untouched(
    torch_cnn: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.onnx"
    out.write_bytes(b"previous good model")
    with pytest.raises(BadInput):
        quantize_static_int8(torch_cnn, out, [])
    assert out.read_bytes() == b"previous good model"
