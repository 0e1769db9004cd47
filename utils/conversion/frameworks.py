"""One door per framework: load, tell, describe, export and run a source model.

The conversion pipeline (``api.py``) and the parity check (``verify.py``) call these
instead of branching on the framework themselves. Frameworks are imported inside the
exporter modules, never here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.conversion import keras_export, sklearn_export, torch_export
from utils.conversion.detect import Framework, detect_format
from utils.conversion.loading import load_keras, load_sklearn, load_torch
from utils.errors import BadInput


def load_source(
    model_input: Path,
    *,
    trusted_types: tuple[str, ...] = (),
    model_class: str | None = None,
    model_args: Any = None,
) -> tuple[Any, Framework]:
    """Load a source model file with the loader its format needs.

    ``model_class`` (``module:Class``) and ``model_args`` build a PyTorch model whose
    file holds only a state_dict.

    :raise BadInput: missing, unknown, corrupt, or not a model.
    """
    framework, fmt = detect_format(model_input)
    if framework is Framework.TORCH:
        return load_torch(
            model_input, fmt, model_class=model_class, model_args=model_args
        ), framework
    if framework is Framework.KERAS:
        return load_keras(model_input, fmt), framework
    return load_sklearn(model_input, fmt, trusted_types=list(trusted_types)), framework


def framework_of(model: object) -> Framework:
    """Tell the framework from the object's class hierarchy, importing none of them."""
    modules = {cls.__module__.split(".")[0] for cls in type(model).__mro__}
    if "torch" in modules:
        return Framework.TORCH
    if modules & {"keras", "tensorflow"}:
        return Framework.KERAS
    if "sklearn" in modules or (hasattr(model, "fit") and hasattr(model, "predict")):
        return Framework.SKLEARN
    raise BadInput(
        f"a {type(model).__name__} is not a model we can convert: pass a torch nn.Module, "
        "a Keras model or a fitted scikit-learn estimator"
    )


def framework_version(framework: Framework) -> str:
    """The installed version of the framework (recorded in the manifest)."""
    if framework is Framework.TORCH:
        import torch

        return str(torch.__version__)
    if framework is Framework.KERAS:
        import keras

        return str(keras.__version__)
    import sklearn

    return str(sklearn.__version__)


def declared_shape(model: Any, framework: Framework) -> tuple[int, ...] | None:
    """The per-sample input shape the model itself declares, if it does."""
    if framework is Framework.TORCH:
        return torch_export.example_shape(model)
    if framework is Framework.KERAS:
        return keras_export.example_shape(model)
    return sklearn_export.example_shape(model)


def is_tree_ensemble(model: Any, framework: Framework) -> bool:
    """Trees are held to label agreement instead of max |diff| (see utils.testing.parity)."""
    return framework is Framework.SKLEARN and sklearn_export.is_tree_ensemble(model)


def is_sklearn_classifier(model: Any, framework: Framework) -> bool:
    return framework is Framework.SKLEARN and sklearn_export.is_classifier(model)


def run_source(model: Any, framework: Framework, x: NDArray[np.float32]) -> list[Any]:
    """The source model's outputs on ``x``, in the order of the ONNX outputs."""
    if framework is Framework.TORCH:
        return torch_export.run_torch(model, x)
    if framework is Framework.KERAS:
        return keras_export.run_keras(model, x)
    return sklearn_export.run_sklearn(model, x)


def export(
    model: Any,
    framework: Framework,
    x: NDArray[np.float32],
    out: Path,
    *,
    opset: int | None,
    input_name: str,
    output_names: tuple[str, ...] | None,
    dynamic_batch: bool,
) -> str:
    """Export with the framework's own exporter to ``out``; return the exporter's name.

    ``x`` is a batch of real samples: torch traces on it, the others take its shape.
    """
    shape = tuple(int(d) for d in x.shape[1:])
    if framework is Framework.TORCH:
        traced = x if len(x) > 1 else np.repeat(x, 2, axis=0)
        return torch_export.export_torch(
            model,
            traced,
            out,
            opset=opset,
            input_name=input_name,
            output_names=list(output_names or ("logits",)),
            dynamic_batch=dynamic_batch,
        )
    if framework is Framework.KERAS:
        return keras_export.export_keras(
            model,
            shape,
            out,
            opset=opset,
            input_name=input_name,
            dynamic_batch=dynamic_batch,
            batch=1,
        )
    if len(shape) != 1:
        raise BadInput(f"scikit-learn models take [N, features] inputs, not {list(shape)}")
    return sklearn_export.export_sklearn(
        model, shape[0], out, opset=opset, input_name=input_name, dynamic_batch=dynamic_batch
    )
