"""INT8 (dynamic and static) and FP16 copies of an ONNX model: path in, path out, report back.

Shaped like onnxruntime's ``quantize_dynamic`` / ``quantize_static`` (which do the work),
with three things added that those leave to the caller:

- refusal of inputs that cannot give a good result (not ONNX, compressed already, a
  calibration set that is empty or does not fit the model), before any work;
- no half-written model and no litter: everything is written in a temporary folder
  (ORT's shape pre-processing leaves a 90 MB file in the CURRENT folder when it fails on
  BERT-like graphs, STACK.md), loaded once in onnxruntime, and only then moved to ``out``;
- a :class:`CompressionReport` with the sizes and the options used.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import onnx

from utils.compression.calibration import Feed, FeedReader, check_calibration
from utils.compression.defuse import defuse_contrib_ops
from utils.compression.fp16 import convert_fp16
from utils.compression.inspect_model import ensure_float_model, ensure_quantizable, input_specs
from utils.compression.options import CalibrationMethod, Precision, QuantFormat, WeightType
from utils.compression.report import CompressionReport
from utils.compression.writing import save_model, write_checked
from utils.errors import BadInput

_log = logging.getLogger(__name__)


def _preprocess(model: Path, work: Path) -> tuple[Path, str]:
    """ORT's quant_pre_process (shape inference + graph cleanup) in ``work``.

    Symbolic shape inference first; BERT-like graphs need it skipped (STACK.md). A model
    the pre-processor cannot handle at all (e.g. scikit-learn's ai.onnx.ml operators) is
    quantized as it is: pre-processing improves results, it is not required.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    graph = onnx.load(str(model))
    if defuse_contrib_ops(graph):
        model = work / "defused.onnx"
        save_model(graph, model)
    target = work / "preprocessed.onnx"
    for skip_symbolic in (False, True):
        try:
            with contextlib.chdir(work):
                quant_pre_process(str(model), str(target), skip_symbolic_shape=skip_symbolic)
            return target, "symbolic" if not skip_symbolic else "onnx-shape-only"
        except Exception as exc:  # the pre-processor raises anything from inference code
            _log.info("quant_pre_process (skip_symbolic=%s) failed: %s", skip_symbolic, exc)
    return model, "skipped"  # may be the defused copy: the quantizer needs standard ops


def _ort_weight_type(weight_type: WeightType) -> Any:
    from onnxruntime.quantization import QuantType

    return QuantType.QInt8 if weight_type is WeightType.INT8 else QuantType.QUInt8


def quantize_dynamic_int8(
    model: Path,
    out: Path,
    *,
    per_channel: bool = True,
    weight_type: WeightType = WeightType.INT8,
    nodes_to_exclude: Sequence[str] = (),
    op_types: Sequence[str] | None = None,
    reduce_range: bool = False,
) -> CompressionReport:
    """Weights to int8 once, activations quantized on the fly at every call.

    No calibration needed, which makes it the first thing to try on a transformer.
    Per-channel by default: per-tensor let MiniLM's worst cosine to fp32 fall to 0.94,
    per-channel keeps 0.987 at the same speed. On a CNN, dynamic quantization turns Conv
    into ConvInteger, which onnxruntime runs 4x SLOWER than fp32 (STACK.md): pass
    ``op_types=["MatMul", "Gemm"]`` to quantize only the dense layers there.

    ``reduce_range`` (7-bit weights) makes the answers the same on every x86 CPU (see
    :func:`quantize_static_int8`); off by default here because MiniLM's worst cosine to
    fp32 falls from 0.99 to 0.88 with it (STACK.md). The classifier recipes turn it on.
    """
    from onnxruntime.quantization import quantize_dynamic

    model, out = model.resolve(), out.resolve()  # produce() runs in a temporary folder
    ensure_quantizable(ensure_float_model(model), model)

    def produce(tmp: Path) -> dict[str, Any]:
        source, preprocessing = _preprocess(model, tmp.parent)
        quantize_dynamic(
            str(source),
            str(tmp),
            per_channel=per_channel,
            weight_type=_ort_weight_type(weight_type),
            nodes_to_exclude=list(nodes_to_exclude),
            op_types_to_quantize=list(op_types) if op_types else None,
            reduce_range=reduce_range,
        )
        return {
            "precision": Precision.INT8_DYNAMIC.value,
            "per_channel": per_channel,
            "reduce_range": reduce_range,
            "weight_type": weight_type.value,
            "nodes_excluded": list(nodes_to_exclude),
            "op_types": list(op_types) if op_types else "all",
            "pre_processing": preprocessing,
        }

    return write_checked(model, out, Precision.INT8_DYNAMIC.value, produce)


def uniform_batches(feeds: list[Feed], *, max_bytes: int = 256 << 20) -> list[Feed]:
    """Feeds of one batch size, as ORT's histogram calibrators (Entropy, Percentile) need.

    They stack per-batch results with numpy and fail on a shorter last batch
    ("inhomogeneous shape"). Small sets become one batch; large ones lose the odd batch.
    """
    import numpy as np

    total = sum(a.nbytes for f in feeds for a in f.values())
    if total <= max_bytes:
        return [{name: np.concatenate([f[name] for f in feeds]) for name in feeds[0]}]
    size = len(next(iter(feeds[0].values())))
    return [f for f in feeds if len(next(iter(f.values()))) == size]


def quantize_static_int8(
    model: Path,
    out: Path,
    calibration: Iterable[Feed],
    *,
    quant_format: QuantFormat = QuantFormat.QDQ,
    method: CalibrationMethod = CalibrationMethod.MINMAX,
    per_channel: bool = True,
    weight_type: WeightType = WeightType.INT8,
    nodes_to_exclude: Sequence[str] = (),
    reduce_range: bool = True,
) -> CompressionReport:
    """Weights AND activations to int8, activation ranges fixed from calibration data.

    Smallest and, on a CNN, the fastest int8 form (no range computed per call). Its
    accuracy depends on the calibration set covering real inputs: feed training data,
    never the test split accuracy is measured on. Keep the last layer in float
    (``nodes_to_exclude``) when logits saturate.

    ``reduce_range`` (on by default) stores 7-bit weights so the answers do not depend on
    the CPU. On x86 CPUs without VNNI (AVX2 only, like this project's machines),
    onnxruntime computes int8 convolutions and matrix products with u8 x s8 pairs summed
    into 16 bits (VPMADDUBSW), which saturates when 255 x 127 x 2 > 32,767; VNNI CPUs
    accumulate in 32 bits and do not. With 7-bit weights, 255 x 63 x 2 = 32,130 cannot
    saturate, so every CPU computes the exact integer result (onnxruntime's documented
    remedy). Measured here on the digits CNNs (`TP_Quantization/results/int8_cpus.json`):
    without it the Keras CNN's static int8 scores 0.9722 on AVX2 against 0.9806 in exact
    arithmetic (logits off by up to 4.2); with it both score 0.9806 and the logits match
    the exact result to the last bit, at the same file size.
    """
    from onnxruntime.quantization import CalibrationMethod as OrtMethod
    from onnxruntime.quantization import QuantFormat as OrtFormat
    from onnxruntime.quantization import QuantType, quantize_static

    model, out = model.resolve(), out.resolve()  # produce() runs in a temporary folder
    graph = ensure_float_model(model)
    ensure_quantizable(graph, model)
    feeds = check_calibration(calibration, input_specs(graph))
    ort_method = {
        CalibrationMethod.MINMAX: OrtMethod.MinMax,
        CalibrationMethod.ENTROPY: OrtMethod.Entropy,
        CalibrationMethod.PERCENTILE: OrtMethod.Percentile,
    }[method]
    ort_format = OrtFormat.QDQ if quant_format is QuantFormat.QDQ else OrtFormat.QOperator

    def produce(tmp: Path) -> dict[str, Any]:
        source, preprocessing = _preprocess(model, tmp.parent)
        quantize_static(
            str(source),
            str(tmp),
            FeedReader(feeds if method is CalibrationMethod.MINMAX else uniform_batches(feeds)),
            quant_format=ort_format,
            per_channel=per_channel,
            weight_type=_ort_weight_type(weight_type),
            # uint8 activations with QOperator: the x86 kernels' native pair (u8s8).
            activation_type=QuantType.QUInt8
            if quant_format is QuantFormat.QOPERATOR
            else QuantType.QInt8,
            calibrate_method=ort_method,
            nodes_to_exclude=list(nodes_to_exclude),
            reduce_range=reduce_range,
        )
        return {
            "precision": Precision.INT8_STATIC.value,
            "format": quant_format.value,
            "reduce_range": reduce_range,
            "calibration": method.value,
            "calibration_batches": len(feeds),
            "calibration_samples": int(sum(len(next(iter(f.values()))) for f in feeds)),
            "per_channel": per_channel,
            "weight_type": weight_type.value,
            "nodes_excluded": list(nodes_to_exclude),
            "pre_processing": preprocessing,
        }

    return write_checked(model, out, Precision.INT8_STATIC.value, produce)


def quantize(
    model: Path,
    out: Path,
    precision: Precision,
    *,
    calibration: Iterable[Feed] | None = None,
    per_channel: bool = True,
    weight_type: WeightType = WeightType.INT8,
    quant_format: QuantFormat = QuantFormat.QDQ,
    method: CalibrationMethod = CalibrationMethod.MINMAX,
    nodes_to_exclude: Sequence[str] = (),
) -> CompressionReport:
    """One door for every precision, like onnxruntime's ``quantize(model, out, config)``."""
    if precision is Precision.FP16:
        return convert_fp16(model, out, nodes_to_exclude=nodes_to_exclude)
    if precision is Precision.INT8_DYNAMIC:
        return quantize_dynamic_int8(
            model,
            out,
            per_channel=per_channel,
            weight_type=weight_type,
            nodes_to_exclude=nodes_to_exclude,
        )
    if precision is Precision.INT8_STATIC:
        if calibration is None:
            raise BadInput(
                "static int8 needs calibration data "
                "(a .npy file, an image folder or the demo split)"
            )
        return quantize_static_int8(
            model,
            out,
            calibration,
            quant_format=quant_format,
            method=method,
            per_channel=per_channel,
            weight_type=weight_type,
            nodes_to_exclude=nodes_to_exclude,
        )
    raise BadInput(
        f"nothing to do for precision {precision.value}: pick fp16, int8-dynamic or int8-static"
    )
