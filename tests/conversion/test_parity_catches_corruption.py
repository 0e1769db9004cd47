"""The parity check proves an ONNX file against its source, and catches a corrupted one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from utils.conversion import ConversionOptions, convert_model, verify_parity
from utils.errors import ParityError


@pytest.fixture
def converted_cnn(small_cnn: Any, out_dir: Path) -> Path:
    return convert_model(
        small_cnn, out_dir / "cnn.onnx", ConversionOptions(input_shape=(1, 8, 8))
    ).output


def _corrupt_largest_weight(source: Path, target: Path) -> None:
    model = onnx.load(str(source))
    weight = max(model.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    values = numpy_helper.to_array(weight).copy()
    values.flat[: values.size // 10] *= -3.0
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    onnx.save(model, str(target))


def test_an_intact_file_passes_verification(small_cnn: Any, converted_cnn: Path) -> None:
    report = verify_parity(converted_cnn, small_cnn)
    assert report.passed
    assert report.max_abs_diff["logits"] <= 1e-4


def test_a_corrupted_weight_is_caught_and_named_by_output(
    small_cnn: Any, converted_cnn: Path, tmp_path: Path
) -> None:
    corrupted = tmp_path / "corrupted.onnx"
    _corrupt_largest_weight(converted_cnn, corrupted)
    with pytest.raises(ParityError, match=r"logits: max \|diff\| .* > atol 0.0001"):
        verify_parity(corrupted, small_cnn)


def test_a_corrupted_file_reports_every_failure_at_once(
    small_cnn: Any, converted_cnn: Path, tmp_path: Path
) -> None:
    corrupted = tmp_path / "corrupted.onnx"
    _corrupt_largest_weight(converted_cnn, corrupted)
    with pytest.raises(ParityError) as caught:
        verify_parity(corrupted, small_cnn, min_label_agreement=1.0)
    message = str(caught.value)
    assert "logits: max |diff|" in message and "label agreement" in message
