"""Prove an ONNX file against its source model, and read what kind of model it is.

:func:`verify_parity` is the check :func:`utils.conversion.convert` runs on every file it
writes, offered on its own for a file made elsewhere or changed since (a compressed
variant, a file that may have been corrupted in transit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import onnx
from numpy.typing import NDArray

from utils.conversion.detect import Framework
from utils.conversion.frameworks import (
    framework_of,
    is_sklearn_classifier,
    is_tree_ensemble,
    load_source,
    run_source,
)
from utils.conversion.optimize import ort_session
from utils.conversion.samples import SampleSet, default_samples, load_samples
from utils.conversion.signature import read_signature
from utils.conversion.sklearn_export import class_labels
from utils.deployment_helpers.manifest import ParityReport, TensorSpec
from utils.testing.parity import compare_outputs

DEFAULT_ATOL: Final[float] = 1e-4
"""Max |diff| accepted for networks and linear models (measured worst: 7.6e-6)."""

DEFAULT_MIN_LABEL_AGREEMENT: Final[float] = 0.995
"""Share of equal labels required of every classifier (tree ensembles flip ~1 in 450)."""


@dataclass(frozen=True)
class ModelKind:
    """What the manifest says about the outputs: task, which output holds the scores,
    how to read them, and the class labels."""

    task: str
    scores_output: str | None
    scores_kind: str
    labels: list[str]


def run_onnx(path: Path, input_name: str, x: NDArray[np.float32], dynamic: bool) -> list[Any]:
    """onnxruntime's outputs on ``x`` (one sample at a time for a static batch)."""
    session = ort_session(path, threads=1)
    if dynamic:
        return list(session.run(None, {input_name: x}))
    rows = [session.run(None, {input_name: x[i : i + 1]}) for i in range(len(x))]
    return [np.concatenate([r[k] for r in rows]) for k in range(len(rows[0]))]


def _looks_like_probabilities(scores: NDArray[Any] | None) -> bool:
    """Rows of non-negative numbers summing to 1: the network ends in a softmax."""
    if scores is None or scores.ndim != 2 or scores.size == 0:
        return False
    return bool(scores.min() >= 0 and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3))


def describe(
    model: Any,
    framework: Framework,
    outputs: list[TensorSpec],
    *,
    labels: Sequence[str] | None = None,
    scores_kind: str | None = None,
    first_output: NDArray[Any] | None = None,
) -> ModelKind:
    """Task, scores output, scores kind and labels of a converted model.

    A network's scores are taken as logits (the server applies a softmax) unless its
    outputs on the samples already are probabilities, or the caller says otherwise.
    """
    if is_sklearn_classifier(model, framework):
        chosen = list(labels or class_labels(model))
        return ModelKind("classification", "probabilities", scores_kind or "probabilities", chosen)
    first = outputs[0]
    classes = first.shape[1] if len(first.shape) == 2 else 0
    if first.datatype.startswith("FP") and classes > 1:
        chosen = list(labels or (str(i) for i in range(classes)))
        guessed = "probabilities" if _looks_like_probabilities(first_output) else "logits"
        return ModelKind("classification", first.name, scores_kind or guessed, chosen)
    return ModelKind("regression", first.name, "values", list(labels or ()))


def label_output_of(kind: ModelKind, names: list[str]) -> str | None:
    """scikit-learn classifiers carry a ``label`` output; networks' labels are argmaxes."""
    if kind.task != "classification":
        return None
    return "label" if "label" in names else kind.scores_output


def accuracy(
    onnx_outputs: list[Any], names: list[str], kind: ModelKind, samples: SampleSet
) -> float | None:
    """Share of samples whose ONNX label is the true one (None without true labels)."""
    if samples.y is None or kind.scores_output is None or kind.task != "classification":
        return None
    if "label" in names:
        predicted = np.asarray(onnx_outputs[names.index("label")]).astype(str)
        truth = np.asarray([kind.labels[i] if kind.labels else str(i) for i in samples.y])
        return float((predicted == truth).mean())
    scores = np.asarray(onnx_outputs[names.index(kind.scores_output)])
    if scores.ndim != 2:
        return None
    return float((scores.argmax(axis=1) == samples.y).mean())


def default_atol(model: Any, framework: Framework, atol: float | None) -> float | None:
    """The caller's atol, else 1e-4, or none at all for tree ensembles."""
    if atol is not None:
        return atol
    return None if is_tree_ensemble(model, framework) else DEFAULT_ATOL


def verify_parity(
    onnx_file: Path,
    source: object,
    *,
    samples: Path | NDArray[np.float32] | None = None,
    atol: float | None = None,
    min_label_agreement: float = DEFAULT_MIN_LABEL_AGREEMENT,
) -> ParityReport:
    """Check an existing ONNX file against its source model (a path or an object).

    :raise ParityError: the outputs disagree beyond tolerance (one clause per output).
    :raise BadInput: the source cannot be loaded, or the samples do not fit.
    """
    if isinstance(source, Path):
        model, framework = load_source(source)
    else:
        model, framework = source, framework_of(source)
    inputs, outputs = read_signature(onnx.load(str(onnx_file)))
    if isinstance(samples, Path):
        sample_set = load_samples(samples)
    elif samples is not None:
        sample_set = SampleSet(np.asarray(samples, np.float32), None, "given array")
    else:
        sample_set = default_samples(tuple(inputs[0].shape[1:]))
    candidate = run_onnx(onnx_file, inputs[0].name, sample_set.x, inputs[0].shape[0] == -1)
    reference = run_source(model, framework, sample_set.x)
    names = [o.name for o in outputs]
    kind = describe(model, framework, outputs, first_output=np.asarray(candidate[0]))
    return compare_outputs(
        reference,
        candidate,
        names,
        atol=default_atol(model, framework, atol),
        min_label_agreement=min_label_agreement if kind.task == "classification" else None,
        label_output=label_output_of(kind, names),
    )
