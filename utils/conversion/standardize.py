"""Standardisation that travels with a network: ``(x - mean) / std`` folded into its graph.

A scikit-learn pipeline carries its scaler into ONNX; a PyTorch or Keras network trained
on standardised features does not, and given raw features it answers with full
confidence and no warning. The converter prepends a ``Sub`` and a ``Div`` to the
exported graph (the optimizer may fold them into the first layer), so the ONNX file
takes raw features and the manifest's ``preprocessing.standardization`` says so.

The statistics come from a file the user saved at training time (``.json`` with ``mean``
and ``std``, or ``.npz`` with arrays ``mean`` and ``std``), or, with ``auto``, from the
evaluation samples themselves (good when they are drawn like the training data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import helper, numpy_helper

from utils.errors import BadInput

AUTO: Final = "auto"
MIN_STD: Final = 1e-8
"""A constant feature (std 0) is divided by 1 instead, as scikit-learn's scaler does."""


@dataclass(frozen=True)
class Standardizer:
    """Per-feature mean and std, shaped like one sample (broadcast over the batch)."""

    mean: NDArray[np.float32]
    std: NDArray[np.float32]

    def apply(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        return ((x - self.mean) / self.std).astype(np.float32)


def _fit_shape(values: NDArray[Any], shape: tuple[int, ...], what: str) -> NDArray[np.float32]:
    array = np.asarray(values, np.float32)
    if array.size == 1:
        return np.full(shape, float(array.reshape(-1)[0]), np.float32)
    if array.size != int(np.prod(shape)):
        raise BadInput(
            f"standardization {what} has {array.size} values; the model's input has "
            f"{int(np.prod(shape))} per sample {list(shape)}"
        )
    return array.reshape(shape)


def load_standardizer(spec: str | Path, x: NDArray[np.float32]) -> Standardizer:
    """``auto`` (from ``x``), or a ``.json``/``.npz`` file holding ``mean`` and ``std``.

    :raise BadInput: a file that is missing, lacks either array, or does not fit ``x``.
    """
    shape = tuple(x.shape[1:])
    if str(spec) == AUTO:
        mean, std = x.mean(axis=0), x.std(axis=0)
    else:
        path = Path(spec)
        if not path.is_file():
            raise BadInput(f"{path} does not exist: pass --standardize auto or a mean/std file")
        try:
            if path.suffix.lower() == ".json":
                stats = json.loads(path.read_text())
            elif path.suffix.lower() == ".npz":
                with np.load(path, allow_pickle=False) as archive:
                    stats = {k: archive[k] for k in archive.files}
            else:
                raise BadInput(f"{path.name}: give a .json or .npz holding 'mean' and 'std'")
            mean, std = np.asarray(stats["mean"]), np.asarray(stats["std"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"{path.name} must hold 'mean' and 'std' ({exc})") from None
    std = np.where(np.abs(std) < MIN_STD, 1.0, std)
    return Standardizer(_fit_shape(mean, shape, "mean"), _fit_shape(std, shape, "std"))


def fold_into_graph(model: onnx.ModelProto, standardizer: Standardizer) -> None:
    """Make the graph's (single) input raw: insert ``(input - mean) / std`` in front of it."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    if len(inputs) != 1:
        raise BadInput(f"standardization needs a model with one input, not {len(inputs)}")
    name = inputs[0].name
    centred, scaled = f"{name}__centred", f"{name}__standardized"
    for node in model.graph.node:
        node.input[:] = [scaled if n == name else n for n in node.input]
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(standardizer.mean, f"{name}__mean"),
            numpy_helper.from_array(standardizer.std, f"{name}__std"),
        ]
    )
    model.graph.node.insert(
        0, helper.make_node("Div", [centred, f"{name}__std"], [scaled], name="standardize_div")
    )
    model.graph.node.insert(
        0, helper.make_node("Sub", [name, f"{name}__mean"], [centred], name="standardize_sub")
    )


def looks_trained_on_standardized(
    raw: float, standardized: float, *, higher_is_better: bool
) -> bool:
    """True when the source model does much better on self-standardised samples than on raw.

    A network trained on raw features loses accuracy when its inputs are standardised, so
    this fires only when the evidence points one way: at least 20 accuracy points more on
    standardised rows (classifiers), or under half the MAE (regressors). Without targets
    there is no evidence, and no warning (guessing from the value ranges alone would warn
    about every network trained on raw pixel or sensor values).
    """
    if higher_is_better:
        return standardized - raw >= 0.2
    return standardized < 0.5 * raw
