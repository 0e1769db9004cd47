"""PyTorch to ONNX: torch.export (.pt2), TorchScript (.pt) and in-memory modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conversion.conftest import onnx_predict
from utils.conversion import ConversionOptions, convert, convert_model
from utils.digits import DigitsSplit, to_layout
from utils.errors import BadInput

DIGITS_NCHW = ConversionOptions(input_shape=(1, 8, 8))


def _torch_logits(model: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def test_an_in_memory_module_converts_with_a_dynamic_batch(
    small_cnn: Any, digits: DigitsSplit, out_dir: Path
) -> None:
    report = convert_model(small_cnn, out_dir / "cnn.onnx", DIGITS_NCHW)
    x = to_layout(digits.x_test[:37], "NCHW")
    (logits,) = onnx_predict(report.output, x)
    assert logits.shape == (37, 10)
    assert np.abs(logits - _torch_logits(small_cnn, x)).max() <= 1e-4


def test_a_torch_export_file_converts_to_one_self_contained_file(
    small_cnn: Any, digits: DigitsSplit, tmp_path: Path, out_dir: Path
) -> None:
    import torch

    x = torch.from_numpy(to_layout(digits.x_test[:4], "NCHW"))
    program = torch.export.export(small_cnn, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, str(tmp_path / "cnn.pt2"))
    report = convert(tmp_path / "cnn.pt2", out_dir / "cnn.onnx")
    assert sorted(p.name for p in out_dir.iterdir()) == ["cnn.manifest.json", "cnn.onnx"]
    assert report.parity.passed


def test_an_in_memory_module_without_a_shape_is_refused_with_the_option_to_use(
    small_cnn: Any, out_dir: Path
) -> None:
    with pytest.raises(BadInput, match="--input-shape"):
        convert_model(small_cnn, out_dir / "cnn.onnx")


def test_a_torchscript_file_needs_an_input_shape(
    small_cnn: Any, tmp_path: Path, out_dir: Path
) -> None:
    import torch

    torch.jit.script(small_cnn).save(str(tmp_path / "cnn.pt"))
    with pytest.raises(BadInput, match="--input-shape"):
        convert(tmp_path / "cnn.pt", out_dir / "cnn.onnx")
    assert not (out_dir / "cnn.onnx").exists()


def test_a_torchscript_file_converts_once_the_shape_is_given(
    small_cnn: Any, tmp_path: Path, out_dir: Path
) -> None:
    import torch

    torch.jit.script(small_cnn).save(str(tmp_path / "cnn.pt"))
    report = convert(
        tmp_path / "cnn.pt", out_dir / "cnn.onnx", ConversionOptions(input_shape=(1, 8, 8))
    )
    assert report.inputs[0].shape == [-1, 1, 8, 8]
    assert report.parity.max_abs_diff["logits"] <= 1e-4


def test_output_names_can_be_chosen(small_cnn: Any, out_dir: Path) -> None:
    report = convert_model(
        small_cnn,
        out_dir / "cnn.onnx",
        ConversionOptions(input_shape=(1, 8, 8), output_names=("scores",)),
    )
    assert [o.name for o in report.outputs] == ["scores"]
    assert report.manifest.scores_output == "scores"


def test_a_static_batch_is_written_when_asked(small_cnn: Any, out_dir: Path) -> None:
    report = convert_model(
        small_cnn,
        out_dir / "cnn.onnx",
        ConversionOptions(input_shape=(1, 8, 8), dynamic_batch=False),
    )
    assert report.inputs[0].shape == [1, 1, 8, 8]


def test_a_network_ending_in_softmax_is_recorded_as_giving_probabilities(
    small_cnn: Any, out_dir: Path
) -> None:
    import torch

    with_softmax = torch.nn.Sequential(small_cnn, torch.nn.Softmax(dim=1)).eval()
    report = convert_model(with_softmax, out_dir / "p.onnx", DIGITS_NCHW)
    assert report.manifest.scores_kind == "probabilities"


def test_a_network_ending_in_a_linear_layer_is_recorded_as_giving_logits(
    small_cnn: Any, out_dir: Path
) -> None:
    report = convert_model(small_cnn, out_dir / "l.onnx", DIGITS_NCHW)
    assert report.manifest.scores_kind == "logits"
