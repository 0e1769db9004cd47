"""What a conversion reads besides the model: the user's rows, targets, names, kind.

Each helper answers one question for :func:`utils.conversion.convert` (the per-sample
shape, the parity samples, the feature names, the manifest's input kind, the targets as
class indices) and refuses, in the user's words, what does not fit the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from utils.conversion.detect import Framework
from utils.conversion.frameworks import declared_shape, is_sklearn_classifier, run_source
from utils.conversion.samples import SampleSet, default_samples, digits_layout
from utils.conversion.sklearn_export import class_labels
from utils.conversion.standardize import load_standardizer, looks_trained_on_standardized
from utils.conversion.verify import ModelKind
from utils.deployment_helpers.manifest import InputKind
from utils.errors import BadInput
from utils.evaluation.data import LabelledData, class_indices, load_labelled

if TYPE_CHECKING:
    from utils.conversion.options import ConversionOptions


def labelled_data(options: ConversionOptions) -> LabelledData | None:
    """The user's rows (and targets), or None to fall back on the default samples."""
    targets = options.targets if options.targets is not None else options.sample_labels
    if isinstance(options.samples, Path):
        data = load_labelled(
            options.samples,
            targets if isinstance(targets, Path) else None,
            target_column=options.target_column,
        )
    elif options.samples is not None:
        x = np.asarray(options.samples, np.float32)
        data = LabelledData(x, None, [], f"given array ({len(x)} samples)")
    else:
        if targets is not None and isinstance(targets, Path):
            raise BadInput("--targets needs --samples: the inputs the targets belong to")
        return None
    if targets is not None and not isinstance(targets, Path):
        y = np.asarray(targets)
        if len(y) != len(data.x):
            raise BadInput(f"{len(data.x)} samples but {len(y)} targets")
        data = LabelledData(data.x, y, data.feature_names, data.description)
    return data


def sample_shape(
    model: Any, framework: Framework, options: ConversionOptions, data: LabelledData | None
) -> tuple[int, ...]:
    if options.input_shape is not None:
        return tuple(options.input_shape)
    if data is not None:
        return tuple(data.x.shape[1:])
    shape = declared_shape(model, framework)
    if shape is None or any(d <= 0 for d in shape):
        raise BadInput(
            "the model does not declare its input shape: pass --input-shape (per sample, "
            "without the batch, e.g. 1,8,8) or --samples inputs.npy"
        )
    return shape


def parity_samples(data: LabelledData | None, shape: tuple[int, ...]) -> SampleSet:
    if data is not None:
        samples = SampleSet(data.x, None, data.description)
    else:
        samples = default_samples(shape)
    if tuple(samples.x.shape[1:]) != shape:
        raise BadInput(
            f"samples have per-sample shape {list(samples.x.shape[1:])} but the model takes "
            f"{list(shape)}"
        )
    return samples


def feature_names_of(
    model: Any, options: ConversionOptions, data: LabelledData | None, shape: tuple[int, ...]
) -> list[str]:
    names = list(options.feature_names or ())
    if not names and data is not None:
        names = data.feature_names
    if not names:
        names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    if names and (len(shape) != 1 or len(names) != shape[0]):
        raise BadInput(
            f"{len(names)} feature names for an input of shape {list(shape)}: give one name "
            "per input column"
        )
    return names


def input_kind_of(
    options: ConversionOptions, shape: tuple[int, ...], feature_names: list[str]
) -> tuple[InputKind, str | None]:
    """(preprocessing kind, digits layout) for the manifest."""
    layout = digits_layout(shape)
    if options.input_kind is not None:
        kind = options.input_kind
    elif layout is not None and not feature_names:
        kind = "digits-8x8"
    elif len(shape) == 1:
        kind = "tabular"
    else:
        kind = "tensor"
    return kind, (layout if kind in ("digits-8x8", "image") else None)


def check_labels(kind: ModelKind, labels: tuple[str, ...] | None, scores: NDArray[Any]) -> None:
    """Refuse class names whose count is not the model's number of classes (``scores``
    holds one column per class)."""
    if labels is None or kind.task != "classification":
        return
    classes = scores.shape[1] if scores.ndim == 2 else len(kind.labels)
    if len(labels) != classes:
        raise BadInput(
            f"{len(labels)} class name(s) given ({', '.join(labels[:5])}) but the model "
            f"outputs {classes} classes: --labels takes one name per class, in output order "
            "(a comma list or a text file with one name per line)"
        )


def evaluation_targets(
    model: Any,
    framework: Framework,
    kind: ModelKind,
    data: LabelledData | None,
    samples: SampleSet,
) -> NDArray[Any] | None:
    """The targets in the form the metrics need: class indices in output order for a
    classifier (from class indices, or the class values it was trained on), floats for a
    regressor. None without targets."""
    if data is None:
        return samples.y  # the digits split's labels, or None for random samples
    if data.y is None:
        return None
    if kind.task != "classification":
        if not np.issubdtype(data.y.dtype, np.number):
            raise BadInput("regression targets must be numbers")
        return data.y.astype(np.float32)
    if is_sklearn_classifier(model, framework):
        values = class_labels(model)
    else:
        values = [str(i) for i in range(len(kind.labels))]
    try:
        return class_indices(data.y, values)
    except BadInput:
        if list(values) == list(kind.labels):
            raise
        return class_indices(data.y, kind.labels)  # targets written as the class names


def unscaled_warning(
    model: Any,
    framework: Framework,
    x: NDArray[np.float32],
    metrics: dict[str, float],
    measured: Callable[..., dict[str, float]],
    kind: ModelKind,
) -> list[str]:
    """A loud warning when the network does much better on standardised samples than on
    raw ones: it was trained behind a scaler that is not in the graph."""
    standardized = load_standardizer("auto", x).apply(x)
    scores = measured(run_source(model, framework, standardized), scores_output=kind.scores_output)
    metric = "accuracy" if "accuracy" in scores else "mae"
    raw, better = metrics[f"{metric}_source"], scores[metric]
    if not looks_trained_on_standardized(raw, better, higher_is_better=metric == "accuracy"):
        return []
    return [
        f"the source model's {metric} is {raw:.4f} on the raw samples but {better:.4f} once "
        "they are standardised: it was probably trained on standardised features, and the "
        "ONNX file would get raw ones. Convert again with --standardize auto (or the "
        "training mean/std file)"
    ]
