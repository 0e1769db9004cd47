"""FP16 weights with float32 inputs and outputs.

Halves the file. On this CPU it gives no speed-up (onnxruntime computes most fp16 ops by
casting back to fp32, STACK.md): it is the variant for a GPU or an NPU that runs fp16
natively, and for storage. Inputs and outputs stay float32 by default, so clients and the
published signature do not change (a Cast is inserted at each end).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx

from utils.compression.defuse import defuse_contrib_ops
from utils.compression.inspect_model import ensure_float_model
from utils.compression.options import Precision
from utils.compression.report import CompressionReport
from utils.compression.writing import save_model, write_checked


def convert_fp16(
    model: Path,
    out: Path,
    *,
    keep_io_types: bool = True,
    nodes_to_exclude: Sequence[str] = (),
) -> CompressionReport:
    """Write an fp16 copy of ``model``; ``nodes_to_exclude`` stay in fp32.

    Operators from the ``ai.onnx.ml`` domain (scikit-learn's trees and linear models) have
    no fp16 kernels: they are always kept in fp32.
    """
    from onnxconverter_common import float16

    model, out = model.resolve(), out.resolve()  # produce() runs in a temporary folder
    graph = ensure_float_model(model)
    ml_nodes = [n.name for n in graph.graph.node if n.domain == "ai.onnx.ml"]
    ml_ops = sorted({n.op_type for n in graph.graph.node if n.domain == "ai.onnx.ml"})

    def produce(tmp: Path) -> dict[str, Any]:
        graph = onnx.load(str(model))
        defuse_contrib_ops(graph)  # FusedConv/FusedGemm have no fp16 kernel on the CPU
        converted: onnx.ModelProto = float16.convert_float_to_float16(
            graph,
            keep_io_types=keep_io_types,
            node_block_list=[*nodes_to_exclude, *ml_nodes] or None,
            op_block_list=[*float16.DEFAULT_OP_BLOCK_LIST, *ml_ops],
        )
        save_model(converted, tmp)
        return {
            "precision": Precision.FP16.value,
            "keep_io_types": keep_io_types,
            "nodes_excluded": list(nodes_to_exclude),
        }

    return write_checked(model, out, Precision.FP16.value, produce)
