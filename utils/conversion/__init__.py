"""Any PyTorch, Keras or scikit-learn model to one verified, optimized ONNX file.

    from utils.conversion import convert, ConversionOptions
    report = convert(Path("TP_ONNX/model.pkl"), Path("out/model.onnx"))
    report.parity.max_abs_diff, report.optimization.nodes_after, report.manifest_path

Importing this package imports onnx and onnxruntime, never torch, tensorflow or
scikit-learn: each exporter imports its framework when it runs.
"""

from utils.conversion.api import (
    ConversionReport,
    convert,
    convert_model,
    manifest_path_for,
)
from utils.conversion.detect import Framework, SourceFormat, detect_format
from utils.conversion.frameworks import framework_of, load_source
from utils.conversion.optimize import OptimizationLevel
from utils.conversion.options import ConversionOptions
from utils.conversion.verify import verify_parity

__all__ = [
    "ConversionOptions",
    "ConversionReport",
    "Framework",
    "OptimizationLevel",
    "SourceFormat",
    "convert",
    "convert_model",
    "detect_format",
    "framework_of",
    "load_source",
    "manifest_path_for",
    "verify_parity",
]
