"""Read and tidy an ONNX graph's signature: names, v2 datatypes, shapes.

Exporters name things their own way (Keras' ``Identity:0``, torch's symbolic batch
``s77``); the repository promises stable names (``input``, ``logits``) and a batch
dimension called ``batch``, so the served signature does not change when an exporter
does. These helpers work on ``onnx.ModelProto`` in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import onnx

from utils.deployment_helpers.manifest import Datatype, TensorSpec
from utils.errors import ConversionError

_ONNX_TO_V2: dict[int, Datatype] = {
    onnx.TensorProto.FLOAT: "FP32",
    onnx.TensorProto.FLOAT16: "FP16",
    onnx.TensorProto.DOUBLE: "FP64",
    onnx.TensorProto.INT64: "INT64",
    onnx.TensorProto.INT32: "INT32",
    onnx.TensorProto.INT8: "INT8",
    onnx.TensorProto.UINT8: "UINT8",
    onnx.TensorProto.BOOL: "BOOL",
    onnx.TensorProto.STRING: "BYTES",
}

BATCH_DIM = "batch"
"""The symbolic name given to the first dimension of every input and output."""


def _spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    datatype = _ONNX_TO_V2.get(tensor.elem_type)
    if datatype is None:
        raise ConversionError(
            f"{value.name}: ONNX element type {tensor.elem_type} has no Open Inference "
            "Protocol datatype; cast it to float32 or int64 in the model"
        )
    shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    return TensorSpec(name=value.name, datatype=datatype, shape=shape)


def read_signature(model: onnx.ModelProto) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Return the graph's (inputs, outputs), initializers excluded, ``-1`` for dynamic dims."""
    initializers = {init.name for init in model.graph.initializer}
    inputs = [_spec(v) for v in model.graph.input if v.name not in initializers]
    outputs = [_spec(v) for v in model.graph.output]
    return inputs, outputs


def rename_tensors(model: onnx.ModelProto, mapping: Mapping[str, str]) -> None:
    """Rename graph inputs/outputs (and every reference to them) in place."""
    if not mapping:
        return
    taken = {v.name for v in (*model.graph.input, *model.graph.output)} - set(mapping)
    clashes = taken & set(mapping.values())
    if clashes:
        raise ConversionError(f"cannot rename to {sorted(clashes)}: the names are in use")
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        if value.name in mapping:
            value.name = mapping[value.name]
    for node in model.graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]


def name_outputs(model: onnx.ModelProto, names: Sequence[str]) -> None:
    """Give the graph outputs ``names``, in order (fewer names leave the rest alone)."""
    current = [v.name for v in model.graph.output]
    if len(names) > len(current):
        raise ConversionError(
            f"{len(names)} output names given ({', '.join(names)}) but the model has "
            f"{len(current)} output(s): {', '.join(current)}"
        )
    rename_tensors(
        model, {old: new for old, new in zip(current, names, strict=False) if old != new}
    )


def name_batch_dim(model: onnx.ModelProto) -> None:
    """Call the first dimension of every input and output ``batch`` when it is dynamic."""
    initializers = {init.name for init in model.graph.initializer}
    for value in (*model.graph.input, *model.graph.output):
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = BATCH_DIM


def count_nodes(model: onnx.ModelProto) -> int:
    """Nodes of the main graph (subgraphs of If/Loop counted as their parent node)."""
    return len(model.graph.node)


def opset_of(model: onnx.ModelProto) -> int:
    """The default-domain opset the model was written for."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    raise ConversionError("the ONNX model imports no default-domain opset")
