"""The MiniLM recipe: int8 where it is safe, float where int8 hurts, 4 bits where it does not.

Plain dynamic int8 per-channel leaves MiniLM 25.3 % of fp32 (biases, LayerNorms and scales
stay float) with a worst cosine of 0.987 (measured on the 208 evaluation sentences). Two
additions meet the size and fidelity targets together, at the same speed:

- the 30522 x 384 word-embedding table (half the weights) is stored in 4 bits per value,
  block-wise with one scale and zero point per 32 values (``GatherBlockQuantized``): it
  costs about 0.0005 of worst cosine and brings the file to 20.7 %;
- in the few MatMuls whose dynamic int8 hurts most (ranked by :mod:`sensitivity`), the
  handful of outlier input channels stay in float (:mod:`outliers`), so the int8 scale
  fits the other 1532 channels: worst cosine 0.991 instead of 0.987.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import onnx

from utils.compression.calibration import Feed
from utils.compression.inspect_model import ensure_float_model
from utils.compression.options import Precision
from utils.compression.report import CompressionReport
from utils.compression.writing import save_model, write_checked

GATHER_BLOCK_SIZE = 32
"""Values per scale in the 4-bit embedding. 128 with symmetric scales lost 0.02 cosine."""


def quantize_embedding_4bit(
    model: onnx.ModelProto, *, block_size: int = GATHER_BLOCK_SIZE
) -> onnx.ModelProto:
    """Store every constant Gather table (word/position embeddings) in 4 bits, block-wise."""
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    config = DefaultWeightOnlyQuantConfig(
        block_size=block_size,
        is_symmetric=False,
        bits=4,
        op_types_to_quantize=("Gather",),
        quant_axes=(("Gather", 1),),
    )
    quantizer = MatMulNBitsQuantizer(
        model,
        bits=4,
        block_size=block_size,
        is_symmetric=False,
        algo_config=config,
        op_types_to_quantize=("Gather",),
    )
    quantizer.process()
    result: onnx.ModelProto = quantizer.model.model
    return result


KEEP_SENSITIVE = 10
"""MatMuls whose outlier input channels stay float: with 7-bit weights (CPU-independent
answers), the first 10 of the ranking bring the worst cosine to fp32 from 0.987 (3) and
0.990 (6) to 0.991 on AVX2, for 0.7 % more bytes."""


def quantize_text_encoder(
    model: Path,
    out: Path,
    *,
    sensitive_nodes: Sequence[str] = (),
    calibration: Iterable[Feed] = (),
    outlier_channels: int = 4,
    embedding_bits: int = 4,
    reduce_range: bool = True,
) -> CompressionReport:
    """Dynamic int8 per-channel MatMuls, 4-bit embeddings, outliers of ``sensitive_nodes``
    in float (see :mod:`utils.compression.outliers`).

    ``sensitive_nodes`` usually come from
    :func:`utils.compression.sensitivity.rank_matmuls_by_trial` (its first three on
    MiniLM); their outlier channels are found on ``calibration``.
    ``embedding_bits=8`` keeps ORT's per-tensor 8-bit Gather instead (bigger).
    ``reduce_range`` stores 7-bit weights: the answers are then the same on AVX2-only
    CPUs, whose u8s8 kernel saturates 8-bit products, and on VNNI ones (on AVX2, MiniLM's
    worst cosine to fp32 went from 0.984 to 0.987 with the same float outliers).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from utils.compression.outliers import split_outlier_channels
    from utils.errors import BadInput

    model, out = model.resolve(), out.resolve()  # produce() runs in a temporary folder
    ensure_float_model(model)
    if embedding_bits not in (4, 8):
        raise BadInput(f"embedding_bits must be 4 or 8, got {embedding_bits}")
    feeds = list(calibration)
    if sensitive_nodes and not feeds:
        raise BadInput("outlier channels of the sensitive nodes need calibration data; none given")

    def produce(tmp: Path) -> dict[str, Any]:
        graph = onnx.load(str(model))
        split = split_outlier_channels(graph, sensitive_nodes, feeds, channels=outlier_channels)
        stage_in, stage_out = tmp.parent / "split.onnx", tmp.parent / "int8.onnx"
        save_model(graph, stage_in)
        quantize_dynamic(
            str(stage_in),
            str(stage_out),
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"] if embedding_bits == 4 else ["MatMul", "Gather"],
            nodes_to_exclude=split.float_nodes,
            reduce_range=reduce_range,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        graph = onnx.load(str(stage_out))
        if embedding_bits == 4:
            graph = quantize_embedding_4bit(graph)
        save_model(graph, tmp)
        return {
            "precision": Precision.INT8_DYNAMIC.value,
            "per_channel": True,
            "reduce_range": reduce_range,
            "embedding_bits": embedding_bits,
            "embedding_block_size": GATHER_BLOCK_SIZE,
            "outlier_channels_in_float": split.channels,
            "activation_range_reduction": {
                k: round(v, 2) for k, v in split.range_reduction.items()
            },
        }

    return write_checked(model, out, "int8-dynamic", produce)


def calibration_sentences_feeds(sentences: Iterable[str], tokenizer_file: Path) -> list[Feed]:
    """One feed per sentence (batch 1, as a single request is served)."""
    from utils.text import tokenize

    return [dict(tokenize([s], tokenizer_file)) for s in sentences]
