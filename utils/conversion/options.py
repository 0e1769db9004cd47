"""What a user may choose when converting a model: one typed, frozen options object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from utils.conversion.optimize import OptimizationLevel
from utils.conversion.verify import DEFAULT_MIN_LABEL_AGREEMENT
from utils.deployment_helpers.manifest import InputKind

ScoresKind = Literal["logits", "probabilities", "values"]


@dataclass(frozen=True, kw_only=True)
class ConversionOptions:
    """What a user may choose; every field has a default that suits the demo models."""

    opset: int | None = None
    """ONNX opset; None picks the exporter's best-tested one (torch 18, Keras/sklearn 17)."""
    input_name: str = "input"
    input_shape: tuple[int, ...] | None = None
    """Per-sample shape, without the batch dimension (e.g. ``(1, 8, 8)``). Needed when the
    model does not declare it (TorchScript, a bare nn.Module) and no samples are given."""
    output_names: tuple[str, ...] | None = None
    """Names for the ONNX outputs, in order; None keeps ``logits`` for networks and
    skl2onnx's ``label``/``probabilities`` for scikit-learn."""
    dynamic_batch: bool = True
    """Leave the first dimension symbolic (``batch``) so servers can batch requests."""
    samples: Path | NDArray[np.float32] | None = None
    """Real inputs for the parity check and the metrics: ``.npy`` (batch first), ``.npz``
    holding ``x`` (and ``y``), ``.csv`` with a header, or an array. None uses the digits
    held-out split for digits-shaped models, random normals otherwise."""
    targets: Path | NDArray[Any] | None = None
    """Ground truth of ``samples`` (a ``.npy`` or an array): class indices or the class
    values the model was trained on (classifiers), target values (regressors). Gives the
    manifest its metrics and keeps the rows beside the model for the quality gate."""
    sample_labels: NDArray[np.int64] | None = None
    """Same as ``targets`` (kept for callers written before it)."""
    target_column: str | None = None
    """The target column of a ``.csv`` ``samples`` file."""
    feature_names: tuple[str, ...] | None = None
    """One name per input column; None takes the CSV header or ``feature_names_in_``."""
    input_kind: InputKind | None = None
    """What a person sends (manifest ``preprocessing.kind``); None: ``digits-8x8`` for a
    digits-shaped input without feature names, ``tabular`` for other [N, F] float
    inputs, ``tensor`` otherwise."""
    standardize: str | Path | None = None
    """PyTorch/Keras: ``auto`` (mean and std of ``samples``) or a ``.json``/``.npz``
    file with ``mean`` and ``std``: folded into the graph as ``(x - mean) / std``."""
    model_class: str | None = None
    """``module:Class`` that builds a PyTorch model whose file holds a state_dict."""
    model_args: Any = None
    """Arguments of ``model_class`` (a JSON list or object)."""
    atol: float | None = None
    """Max |diff| per float output. None: 1e-4, or not enforced for tree ensembles."""
    min_label_agreement: float = DEFAULT_MIN_LABEL_AGREEMENT
    optimization: OptimizationLevel = OptimizationLevel.EXTENDED
    labels: tuple[str, ...] | None = None
    """Class names in output order; None takes sklearn's ``classes_`` or 0..C-1."""
    scores_kind: ScoresKind | None = None
    """How to read the scores output; None: ``logits`` for networks, ``probabilities``
    for scikit-learn classifiers. Set ``probabilities`` if the network ends in softmax."""
    name: str | None = None
    """Model name in the manifest and repository; None takes the output file's stem."""
    description: str = ""
    repository: Path | None = None
    """Also publish into this model repository (Triton layout) as the next version."""
    trusted_types: tuple[str, ...] = ()
    """Types a ``.skops`` file may contain beyond skops' defaults."""
    reference_profile: dict[str, Any] | None = None
    """Training-input statistics for drift detection; None computes the digits one for
    digits-shaped models."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Extra measured numbers to record in the manifest (e.g. source-model accuracy)."""
    benchmark_repeats: int = 200
    """Timed runs for the before/after optimization latency."""
