"""Offline optimization is saved at a portable level and reported before/after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx

from utils.conversion import ConversionOptions, OptimizationLevel, convert_model
from utils.paths import DEFAULT_MODEL_REPOSITORY


def test_extended_optimization_fuses_conv_and_relu_of_a_cnn(small_cnn: Any, out_dir: Path) -> None:
    report = convert_model(
        small_cnn, out_dir / "cnn.onnx", ConversionOptions(input_shape=(1, 8, 8))
    )
    assert report.optimization.nodes_after < report.optimization.nodes_before
    assert report.optimization.latency_ms_after > 0


def test_the_saved_graph_has_no_machine_specific_layout_ops(small_cnn: Any, out_dir: Path) -> None:
    report = convert_model(
        small_cnn, out_dir / "cnn.onnx", ConversionOptions(input_shape=(1, 8, 8))
    )
    domains = {node.domain for node in onnx.load(str(report.output)).graph.node}
    assert "com.microsoft.nchwc" not in domains


def test_optimization_none_keeps_the_exporters_graph(small_cnn: Any, out_dir: Path) -> None:
    options = ConversionOptions(input_shape=(1, 8, 8), optimization=OptimizationLevel.NONE)
    report = convert_model(small_cnn, out_dir / "cnn.onnx", options)
    assert report.optimization.nodes_after == report.optimization.nodes_before


def test_every_committed_model_passes_the_full_onnx_checker_with_weights_inline() -> None:
    for path in sorted(DEFAULT_MODEL_REPOSITORY.glob("digits_*/1/model.onnx")):
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model, full_check=True)
        assert not any(
            t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer
        )
