"""The choices a compression call takes, as enums (never free-form option strings).

Shaped like onnxruntime's quantization API (``QuantFormat``, ``QuantType``,
``CalibrationMethod``) so a reader who knows it recognises every name, but with our own
values: the enums are plain strings (``StrEnum``), so they double as CLI choices, manifest
values and JSON without a conversion table.
"""

from __future__ import annotations

from enum import StrEnum


class Precision(StrEnum):
    """What a variant stores its weights as."""

    FP32 = "fp32"
    FP16 = "fp16"
    INT8_DYNAMIC = "int8-dynamic"
    INT8_STATIC = "int8-static"


class QuantFormat(StrEnum):
    """How static int8 is written into the graph.

    ``QDQ`` keeps the float operators between QuantizeLinear/DequantizeLinear pairs: it
    runs everywhere and lets onnxruntime fuse what the hardware supports (the default).
    ``QOPERATOR`` writes QLinearConv/QLinearMatMul directly: older runtimes, same size.
    """

    QDQ = "qdq"
    QOPERATOR = "qoperator"


class CalibrationMethod(StrEnum):
    """How static int8 picks each activation's range from calibration data.

    ``MINMAX`` takes the observed extremes (fast; one outlier widens the range).
    ``ENTROPY`` minimises the KL divergence of the histogram (robust to outliers).
    ``PERCENTILE`` clips at the 99.999th percentile (a middle way).
    """

    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


class WeightType(StrEnum):
    """Signed or unsigned 8-bit weights.

    ``INT8`` (signed, symmetric) is what VNNI/AVX-512 kernels expect and the default;
    ``UINT8`` is there for runtimes that only accept unsigned weights.
    """

    INT8 = "int8"
    UINT8 = "uint8"
