"""Keras 3 and TensorFlow SavedModel to ONNX."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tests.conversion.conftest import onnx_predict
from utils.conversion import convert, convert_model
from utils.digits import DigitsSplit, to_layout


def test_an_in_memory_keras_model_converts_with_logits_named(
    keras_model: Any, digits: DigitsSplit, out_dir: Path
) -> None:
    report = convert_model(keras_model, out_dir / "k.onnx")
    x = to_layout(digits.x_test[:20], "NHWC")
    (logits,) = onnx_predict(report.output, x)
    assert [o.name for o in report.outputs] == ["logits"]
    assert np.abs(logits - np.asarray(keras_model(x, training=False))).max() <= 1e-4


def test_a_keras_file_converts(keras_model: Any, tmp_path: Path, out_dir: Path) -> None:
    keras_model.save(str(tmp_path / "k.keras"))
    report = convert(tmp_path / "k.keras", out_dir / "k.onnx")
    assert report.inputs[0].shape == [-1, 8, 8, 1]
    assert report.manifest.preprocessing.layout == "NHWC"


def test_a_legacy_h5_file_converts(keras_model: Any, tmp_path: Path, out_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras_model.save(str(tmp_path / "k.h5"))
    report = convert(tmp_path / "k.h5", out_dir / "k.onnx")
    assert report.parity.passed


def test_a_saved_model_folder_converts(
    keras_model: Any, digits: DigitsSplit, tmp_path: Path, out_dir: Path
) -> None:
    keras_model.export(str(tmp_path / "saved"), format="tf_saved_model", verbose=False)
    report = convert(tmp_path / "saved", out_dir / "k.onnx")
    x = to_layout(digits.x_test[:5], "NHWC")
    (logits,) = onnx_predict(report.output, x)
    assert np.abs(logits - np.asarray(keras_model(x, training=False))).max() <= 1e-4
