"""Outlier channels kept in float: same result in float, a smaller int8 error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from utils.compression.outliers import OUTLIER_SUFFIX, split_outlier_channels
from utils.errors import BadInput
from utils.runtime import create_session

RNG = np.random.default_rng(0)
WEIGHT = RNG.normal(size=(64, 16)).astype(np.float32)


def _matmul_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="dense")],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 16])],
        [numpy_helper.from_array(WEIGHT, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _inputs(rows: int) -> np.ndarray:
    x = RNG.normal(size=(rows, 64)).astype(np.float32)
    x[:, 5] *= 40.0  # one outlier channel, as GELU outputs have in MiniLM
    return x


def _dynamic_int8(model: onnx.ModelProto, path: Path, exclude: list[str]) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnx.save(model, str(path.with_suffix(".fp32.onnx")))
    quantize_dynamic(
        str(path.with_suffix(".fp32.onnx")),
        str(path),
        per_channel=True,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=exclude,
    )
    return path


def test_split_model_gives_the_same_result_in_float() -> None:
    model = _matmul_model()
    split_outlier_channels(model, ["dense"], [{"x": _inputs(32)}], channels=2)
    x = _inputs(8)
    y = create_session(model.SerializeToString()).run(None, {"x": x})[0]
    assert np.allclose(y, x @ WEIGHT, atol=1e-4)


def test_split_finds_the_outlier_channel_and_shrinks_the_int8_range() -> None:
    model = _matmul_model()
    split = split_outlier_channels(model, ["dense"], [{"x": _inputs(32)}], channels=1)
    assert split.channels == {"dense": [5]} and split.range_reduction["dense"] > 5
    assert split.float_nodes == ["dense" + OUTLIER_SUFFIX]


def test_split_lowers_the_dynamic_int8_error(tmp_path: Path) -> None:
    x = _inputs(16)
    plain = _dynamic_int8(_matmul_model(), tmp_path / "plain.onnx", [])
    model = _matmul_model()
    split = split_outlier_channels(model, ["dense"], [{"x": _inputs(32)}], channels=1)
    better = _dynamic_int8(model, tmp_path / "split.onnx", split.float_nodes)
    exact = x @ WEIGHT
    error_plain = np.abs(create_session(plain).run(None, {"x": x})[0] - exact).mean()
    error_split = np.abs(create_session(better).run(None, {"x": x})[0] - exact).mean()
    assert error_split < error_plain / 3


def test_split_refuses_a_node_that_is_not_a_weight_matmul() -> None:
    with pytest.raises(BadInput, match="not a MatMul"):
        split_outlier_channels(_matmul_model(), ["nowhere"], [{"x": _inputs(4)}])


def test_split_of_no_node_changes_nothing_and_needs_no_data() -> None:
    model = _matmul_model()
    assert split_outlier_channels(model, [], []).channels == {}
    assert [n.name for n in model.graph.node] == ["dense"]
