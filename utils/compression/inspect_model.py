"""Checks on a model before compressing it: is it ONNX, is it still float, what it takes.

Refusing early, in our words, beats an onnxruntime stack trace halfway through a recipe:
a JPEG renamed model.onnx, or a model quantized already (quantizing twice multiplies the
error and the tools do not refuse it themselves).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper

from utils.errors import BadInput

QUANTIZED_OPS = frozenset(
    {
        "QuantizeLinear",
        "DequantizeLinear",
        "DynamicQuantizeLinear",
        "QLinearConv",
        "QLinearMatMul",
        "MatMulInteger",
        "ConvInteger",
        "MatMulNBits",
        "GatherBlockQuantized",
        "QGemm",
        "QAttention",
        "DynamicQuantizeMatMul",
    }
)
"""Operators that only a quantized graph contains."""


def load_onnx(path: Path) -> onnx.ModelProto:
    """Load and check an ONNX file. :raise BadInput: missing, not ONNX, or invalid."""
    if not path.is_file():
        raise BadInput(f"{path} does not exist or is not a file")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ValueError...
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"{path} is not a valid ONNX model ({first_line[:200]})") from None
    if not model.graph.node:
        raise BadInput(f"{path} is not a valid ONNX model (its graph has no node)")
    return model


def precision_of(model: onnx.ModelProto) -> str:
    """``int8`` if the graph holds quantization operators, ``fp16`` if it stores fp16
    weights, else ``fp32``."""
    if any(node.op_type in QUANTIZED_OPS for node in model.graph.node):
        return "int8"
    if any(init.data_type == onnx.TensorProto.FLOAT16 for init in model.graph.initializer):
        return "fp16"
    return "fp32"


def ensure_float_model(path: Path) -> onnx.ModelProto:
    """Load ``path`` and refuse a model that is compressed already.

    :raise BadInput: not ONNX, or already int8/fp16 (compress the fp32 original instead).
    """
    model = load_onnx(path)
    precision = precision_of(model)
    if precision != "fp32":
        raise BadInput(
            f"{path} is already {precision}: compress the fp32 original instead "
            "(quantizing twice compounds the error)"
        )
    return model


QUANTIZABLE_OPS = frozenset({"Conv", "MatMul", "Gemm", "Gather", "FusedConv", "FusedGemm"})


def ensure_quantizable(model: onnx.ModelProto, path: Path) -> None:
    """Refuse a graph with nothing int8 can shrink (e.g. scikit-learn's ai.onnx.ml ops).

    :raise BadInput: no Conv/MatMul/Gemm/Gather node (the message says what it holds).
    """
    if not any(n.op_type in QUANTIZABLE_OPS for n in model.graph.node):
        ops = sorted({f"{n.domain + '.' if n.domain else ''}{n.op_type}" for n in model.graph.node})
        raise BadInput(
            f"{path} has no Conv, MatMul, Gemm or Gather to quantize "
            f"(it holds {', '.join(ops[:6])}); "
            "int8 cannot make it smaller"
        )


def input_specs(model: onnx.ModelProto) -> dict[str, tuple[list[int | str | None], np.dtype[Any]]]:
    """Graph inputs that are not initializers: name -> (shape, numpy dtype).

    A dynamic dimension is its symbolic name (``"batch"``) or None.
    """
    initializers = {i.name for i in model.graph.initializer}
    specs: dict[str, tuple[list[int | str | None], np.dtype[Any]]] = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        shape: list[int | str | None] = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in tensor.shape.dim
        ]
        specs[value.name] = (shape, np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type)))
    return specs


def output_producers(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes that produce graph outputs (the last layer, e.g. the logits)."""
    outputs = {o.name for o in model.graph.output}
    return [n.name for n in model.graph.node if outputs.intersection(n.output) and n.name]


def count_parameters(model: onnx.ModelProto) -> int:
    """Elements in all initializers (weights, biases, quantization scales), plus the float
    lists that ai.onnx.ml operators keep as attributes (a LinearClassifier's coefficients)."""
    in_tensors = sum(int(np.prod(i.dims, dtype=np.int64)) for i in model.graph.initializer)
    in_attributes = sum(
        len(a.floats) for n in model.graph.node if n.domain == "ai.onnx.ml" for a in n.attribute
    )
    return int(in_tensors + in_attributes)


def count_nonzero_parameters(model: onnx.ModelProto) -> int:
    """Non-zero initializer elements: what unstructured pruning actually removes."""
    from onnx import numpy_helper

    in_tensors = sum(
        int(np.count_nonzero(numpy_helper.to_array(i))) for i in model.graph.initializer
    )
    in_attributes = sum(
        int(np.count_nonzero(a.floats))
        for n in model.graph.node
        if n.domain == "ai.onnx.ml"
        for a in n.attribute
    )
    return int(in_tensors + in_attributes)
