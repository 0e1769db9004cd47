"""scikit-learn to ONNX through skl2onnx, with plain tensors instead of a ZipMap.

By default skl2onnx ends a classifier with a ZipMap (a list of dicts) that the v2
protocol cannot carry; ``zipmap=False`` gives ``label`` [N] and ``probabilities`` [N, C].
Inputs are float32: skl2onnx's FloatTensorType refuses float64 at run time. sklearn and
skl2onnx are imported inside the functions.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.errors import ConversionError

DEFAULT_OPSET = 17
"""skl2onnx 1.20 writes this main-domain opset reliably for every estimator it knows."""

ML_OPSET = 3
"""``ai.onnx.ml`` opset: skl2onnx's tree converters need 3 (HistGradientBoosting's
``base_values``), and onnxruntime 1.32 runs it."""

_TREE_NAMES = ("Forest", "Tree", "Boosting", "XGB", "LGBM", "IsolationForest")


def final_estimator(model: Any) -> Any:
    """The last step of a Pipeline (or the model itself)."""
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def is_classifier(model: Any) -> bool:
    return hasattr(final_estimator(model), "classes_") and hasattr(model, "predict_proba")


def is_tree_ensemble(model: Any) -> bool:
    """Trees compare float32 inputs against float64 thresholds, so a few labels may flip:
    such models are checked by label agreement, not by max |diff| (STACK.md)."""
    return any(name in type(final_estimator(model)).__name__ for name in _TREE_NAMES)


def class_labels(model: Any) -> list[str]:
    return [str(c) for c in getattr(final_estimator(model), "classes_", [])]


def example_shape(model: Any) -> tuple[int, ...] | None:
    features = getattr(model, "n_features_in_", None)
    return (int(features),) if features is not None else None


def run_sklearn(model: Any, x: NDArray[np.float32]) -> list[NDArray[Any]]:
    """Outputs in the ONNX order: ``[label, probabilities]`` or ``[prediction]``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if is_classifier(model):
            return [np.asarray(model.predict(x)), np.asarray(model.predict_proba(x), np.float32)]
        return [np.asarray(model.predict(x), np.float32).reshape(len(x), -1)]


def export_sklearn(
    model: Any,
    n_features: int,
    out: Path,
    *,
    opset: int | None,
    input_name: str,
    dynamic_batch: bool,
) -> str:
    """Write ``model`` to ``out`` as one ONNX file; return which exporter was used."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    options = {id(final_estimator(model)): {"zipmap": False}} if is_classifier(model) else None
    first = None if dynamic_batch else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            onx = convert_sklearn(
                model,
                initial_types=[(input_name, FloatTensorType([first, n_features]))],
                options=options,
                target_opset={"": opset or DEFAULT_OPSET, "ai.onnx.ml": ML_OPSET},
            )
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ConversionError(
                f"skl2onnx cannot convert {type(final_estimator(model)).__name__}: {text}"
            ) from None
    out.write_bytes(onx.SerializeToString())
    return "skl2onnx"
