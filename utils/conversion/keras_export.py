"""Keras 3 and TensorFlow SavedModel to ONNX through tf2onnx.

``tf2onnx.convert.from_keras`` fails on Keras 3 (``KeyError: 'keras_tensor_N'``, see
STACK.md); Keras' own ``model.export(format="onnx")`` with an explicit input signature
works and uses tf2onnx inside. A SavedModel folder is converted through its
``serving_default`` signature wrapped in a ``tf.function``. TensorFlow is imported inside
the functions, with its C++ log noise turned down first.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.errors import ConversionError

DEFAULT_OPSET = 17
"""tf2onnx 1.17's best-tested opset; also what Keras' exporter defaults to."""


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def is_keras_model(model: Any) -> bool:
    _quiet_tensorflow()
    import keras

    return isinstance(model, keras.Model)


def _serving_function(model: Any) -> tuple[Callable[..., Any], str, list[str], tuple[int, ...]]:
    """The SavedModel's serving signature: (fn, input key, output keys, sample shape)."""
    try:
        signature = model.signatures["serving_default"]
    except (AttributeError, KeyError):
        raise ConversionError(
            "the SavedModel has no 'serving_default' signature: export it with "
            "model.export(path) or tf.saved_model.save(model, path, signatures=...)"
        ) from None
    inputs = signature.structured_input_signature[1]
    if len(inputs) != 1:
        raise ConversionError(f"the SavedModel takes {len(inputs)} inputs; only one is supported")
    ((key, spec),) = inputs.items()
    shape = tuple(-1 if d is None else int(d) for d in spec.shape[1:])
    return signature, key, sorted(signature.structured_outputs), shape


def example_shape(model: Any) -> tuple[int, ...] | None:
    """The per-sample input shape the model declares, ``-1`` for unknown dimensions."""
    if is_keras_model(model):
        shape = model.input_shape
        if isinstance(shape, list):
            raise ConversionError("the Keras model takes several inputs; only one is supported")
        return tuple(-1 if d is None else int(d) for d in shape[1:])
    return _serving_function(model)[3]


def run_keras(model: Any, x: NDArray[np.float32]) -> list[NDArray[Any]]:
    """Run the source model on ``x`` (inference mode); return outputs as numpy, in order."""
    import tensorflow as tf

    if is_keras_model(model):
        out = model(tf.constant(x), training=False)
        items = out if isinstance(out, (list, tuple)) else [out]
        return [np.asarray(item) for item in items]
    signature, key, outputs, _ = _serving_function(model)
    result = signature(**{key: tf.constant(x)})
    return [result[name].numpy() for name in outputs]


def export_keras(
    model: Any,
    sample_shape: tuple[int, ...],
    out: Path,
    *,
    opset: int | None,
    input_name: str,
    dynamic_batch: bool,
    batch: int,
) -> str:
    """Write ``model`` to ``out`` as one ONNX file; return which exporter was used."""
    _quiet_tensorflow()
    import tensorflow as tf

    first = None if dynamic_batch else batch
    spec = tf.TensorSpec([first, *sample_shape], tf.float32, name=input_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if is_keras_model(model):
                model.export(
                    str(out),
                    format="onnx",
                    opset_version=opset or DEFAULT_OPSET,
                    input_signature=[spec],
                    verbose=False,
                )
                return "keras.Model.export (tf2onnx)"
            import tf2onnx

            signature, key, outputs, _ = _serving_function(model)

            @tf.function(input_signature=[spec])  # type: ignore[untyped-decorator]
            def serve(x: Any) -> list[Any]:
                result = signature(**{key: x})
                return [result[name] for name in outputs]

            tf2onnx.convert.from_function(
                serve, input_signature=[spec], opset=opset or DEFAULT_OPSET, output_path=str(out)
            )
            return "tf2onnx.convert.from_function (SavedModel)"
        except ConversionError:
            raise
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ConversionError(
                f"the TensorFlow exporter failed: {text}; check --input-shape and --opset"
            ) from None
