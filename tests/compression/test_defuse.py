"""Undoing onnxruntime's contrib fusions: supported ones are split, others refused clearly."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from utils.compression.defuse import defuse_contrib_ops
from utils.errors import CompressionError


def _fused_gemm(activation: str) -> onnx.ModelProto:
    """A one-node graph: com.microsoft FusedGemm(x, W, b) with ``activation`` folded in."""
    weight = numpy_helper.from_array(np.eye(3, dtype=np.float32), "W")
    bias = numpy_helper.from_array(np.zeros(3, dtype=np.float32), "b")
    node = helper.make_node(
        "FusedGemm",
        ["x", "W", "b"],
        ["y"],
        name="fc",
        domain="com.microsoft",
        activation=activation,
    )
    graph = helper.make_graph(
        [node],
        "fused",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        initializer=[weight, bias],
    )
    return helper.make_model(graph)


def test_a_fused_gemm_with_relu_becomes_a_standard_gemm_then_relu() -> None:
    model = _fused_gemm("Relu")
    assert defuse_contrib_ops(model) == 1
    assert [(n.domain, n.op_type) for n in model.graph.node] == [("", "Gemm"), ("", "Relu")]
    assert model.graph.node[-1].output[0] == "y"


def test_a_fused_activation_without_a_standard_equivalent_is_a_compression_error() -> None:
    with pytest.raises(CompressionError, match="fused activation Softplus") as caught:
        defuse_contrib_ops(_fused_gemm("Softplus"))
    assert "ORT_ENABLE_BASIC" in str(caught.value)
