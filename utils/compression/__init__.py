"""Compression: int8 (dynamic, static), fp16, an automatic mode, pruning and distillation.

Public doors, shaped like onnxruntime's quantization API (path in, path out, enums,
keyword-only options, a :class:`CompressionReport` back):

    from utils.compression import quantize, Precision, QuantFormat, CalibrationMethod
    report = quantize(Path("model.onnx"), Path("model.int8.onnx"), Precision.INT8_STATIC,
                      calibration=feeds_from_digits("input", "NCHW"))

Importing this package imports onnx and onnxruntime, never torch: pruning and
distillation (``utils.compression.pruning`` / ``distillation``) import torch inside
their functions and are not re-exported here.
"""

from utils.compression.auto import (
    AutoResult,
    Candidate,
    MetricKind,
    Objective,
    Recipe,
    auto_compress,
    classifier_recipes,
)
from utils.compression.calibration import (
    Feed,
    FeedReader,
    check_calibration,
    feeds_from_digits,
    feeds_from_image_folder,
    feeds_from_images,
    feeds_from_npy,
)
from utils.compression.fp16 import convert_fp16
from utils.compression.options import CalibrationMethod, Precision, QuantFormat, WeightType
from utils.compression.publish import publish_variant
from utils.compression.quantize import quantize, quantize_dynamic_int8, quantize_static_int8
from utils.compression.report import CompressionReport
from utils.errors import NoRecipeWithinBudget

__all__ = [
    "AutoResult",
    "CalibrationMethod",
    "Candidate",
    "CompressionReport",
    "Feed",
    "FeedReader",
    "MetricKind",
    "NoRecipeWithinBudget",
    "Objective",
    "Precision",
    "QuantFormat",
    "Recipe",
    "WeightType",
    "auto_compress",
    "check_calibration",
    "classifier_recipes",
    "convert_fp16",
    "feeds_from_digits",
    "feeds_from_image_folder",
    "feeds_from_images",
    "feeds_from_npy",
    "publish_variant",
    "quantize",
    "quantize_dynamic_int8",
    "quantize_static_int8",
]
