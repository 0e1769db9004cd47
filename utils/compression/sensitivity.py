"""Which MatMuls suffer most from dynamic int8: measured one node at a time.

Dynamic int8 quantizes a MatMul's activation with one scale per call. Where an activation
has a few huge channels (the GELU output of a BERT feed-forward block), that one scale
crushes the other channels, and the damage shows only at the model's output, after the
residual connections and LayerNorms. We therefore rank by trial: quantize ONE node, run
the calibration inputs, and record how far the output moved from fp32 (1 - worst cosine).

A local proxy (each MatMul's own output error, simulated in numpy) was tried first and
ranked the wrong nodes on MiniLM (the LayerNorm -> MatMul inputs, whose error the next
LayerNorm absorbs); the trial ranking put the GELU -> MatMul nodes of layers 0-2 first,
and keeping the outlier channels of those three in float is what lifted the worst cosine
above 0.99 (see outliers.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray

from utils.compression.calibration import Feed
from utils.errors import BadInput
from utils.runtime import create_session


def weight_matmuls(model: onnx.ModelProto) -> list[str]:
    """Names of MatMul nodes whose weight (second input) is a 2-D float initializer."""
    initializers = {i.name: i for i in model.graph.initializer}
    names = []
    for node in model.graph.node:
        weight = initializers.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is not None and len(weight.dims) == 2 and node.input[0] not in initializers:
            names.append(node.name)
    return names


def _outputs(model: Path, feeds: list[Feed], output: str) -> NDArray[np.float32]:
    session = create_session(model, threads=2)
    return np.concatenate([session.run([output], dict(f))[0] for f in feeds]).astype(np.float32)


def worst_cosine(reference: NDArray[np.float32], candidate: NDArray[np.float32]) -> float:
    """Smallest row-wise cosine similarity between two [N, D] arrays."""
    ref = reference.reshape(len(reference), -1)
    cand = candidate.reshape(len(candidate), -1)
    cosine = (ref * cand).sum(1) / np.maximum(
        np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1), 1e-12
    )
    return float(cosine.min())


def rank_matmuls_by_trial(
    model_path: Path,
    calibration: Iterable[Feed],
    output: str,
    *,
    nodes: Sequence[str] | None = None,
    progress: Callable[[Iterable[str]], Iterable[str]] = iter,
    reduce_range: bool = True,
) -> dict[str, float]:
    """Return {node: 1 - worst cosine of ``output`` to fp32} with only that node in int8,
    most sensitive first. ``progress`` may wrap the loop (e.g. ``tqdm``).

    ``reduce_range`` (7-bit weights, as :func:`quantize_text_encoder` uses by default)
    makes the ranking the same on every CPU (see :mod:`utils.compression.cpu`).

    :raise BadInput: the calibration set is empty or there is no weight MatMul.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    feeds = list(calibration)
    if not feeds:
        raise BadInput("the calibration set is empty: ranking needs at least one batch")
    candidates = list(nodes) if nodes is not None else weight_matmuls(onnx.load(str(model_path)))
    if not candidates:
        raise BadInput(f"{model_path} has no MatMul with a constant weight to rank")
    reference = _outputs(model_path, feeds, output)
    losses: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="sensitivity-") as work:
        trial = Path(work) / "one-node.onnx"
        for node in progress(candidates):
            quantize_dynamic(
                str(model_path),
                str(trial),
                per_channel=True,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                nodes_to_quantize=[node],
                reduce_range=reduce_range,
                # fused graphs (Attention, SkipLayerNormalization) defeat shape inference
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
            losses[node] = 1.0 - worst_cosine(reference, _outputs(trial, feeds, output))
    return dict(sorted(losses.items(), key=lambda kv: -kv[1]))
