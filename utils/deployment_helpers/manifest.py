"""Our manifest: what a served model is, beside Triton's ``config.pbtxt``.

``<repo>/<model>/manifest.json`` says everything the apps need and Triton's config does
not carry: labels, preprocessing, which output holds the class scores, and per version the
file's sha256 (checked before a file is served), its source framework, parity results and
measured metrics. It is plain JSON validated by pydantic, so a person can read it and a
CI gate can compare ``metrics.accuracy`` against ``accuracy_budget``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from utils.errors import BadInput
from utils.io import write_atomic

MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1

Datatype = Literal["FP32", "FP16", "FP64", "INT64", "INT32", "INT8", "UINT8", "BOOL", "BYTES"]
"""Open Inference Protocol v2 datatype names, also used in Triton's config as TYPE_<name>."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class TensorSpec(_Strict):
    """One input or output: v2 datatype and shape, ``-1`` for a dynamic dimension."""

    name: str
    datatype: Datatype
    shape: list[int]


Task = Literal["classification", "regression", "forecasting", "embedding", "anomaly", "detection"]
"""What a model's outputs mean; each task is one task kind in the data plane (its
post-processing, the page's widget, what monitoring profiles). Text sentiment is a
``classification`` whose input kind is ``text``."""

InputKind = Literal["digits-8x8", "image", "tabular", "text", "series", "tensor"]
"""What a person sends: ``digits-8x8`` an image reduced to the 8x8 digits layout,
``image`` a picture resized to ``image_size``, ``tabular`` rows of named features,
``text`` sentences (tokenized in the data plane), ``series`` windows of a time series,
``tensor`` raw tensors only."""


class Standardization(_Strict):
    """Per-feature ``(x - mean) / std`` that a model was trained behind."""

    mean: list[float]
    std: list[float]
    in_graph: bool = True
    """True: folded into the ONNX graph, so the model takes raw features; False: the
    client must standardise before sending (the page and the client warn)."""


class Preprocessing(_Strict):
    """How a person's input (an image, a row, a sentence, a series) becomes the model's input."""

    kind: InputKind = "tensor"
    """See :data:`InputKind`."""
    layout: Literal["NCHW", "NHWC", "flat"] | None = None
    """For ``digits-8x8`` and ``image``: [N,1,H,W] (torch), [N,H,W,1] (Keras) or [N,H*W]."""
    tokenizer: str | None = None
    """For ``text``: tokenizer.json, relative to the model folder."""
    max_length: int | None = None
    """For ``text``: sequences are truncated to this many tokens."""
    feature_names: list[str] = Field(default_factory=list)
    """For ``tabular``: one name per input column, in order (the page's form fields)."""
    standardization: Standardization | None = None
    """For ``tabular``: the scaling the model was trained behind, and where it happens."""
    window: int | None = None
    """For ``series``: W, the number of past points one input row holds."""
    horizon: int | None = None
    """For ``forecasting``: H, the number of future points one output row holds."""
    image_size: list[int] | None = None
    """For ``image``: [height, width] of the model's input picture."""


class Postprocessing(_Strict):
    """Task parameters applied to raw outputs (also recorded when the graph applies them)."""

    threshold: float | None = None
    """``anomaly``: the score at or above which a point is flagged; ``detection``: the
    lowest score a box keeps."""
    iou_threshold: float | None = None
    """``detection``: overlap above which non-maximum suppression drops the weaker box."""


class Batching(_Strict):
    """Dynamic batching, mirrored into config.pbtxt's ``max_batch_size``/``dynamic_batching``."""

    max_batch_size: int = 64
    """Largest batch the server forms or accepts in one request; 0 means no batch dim."""
    max_queue_delay_us: int = 500
    """How long a request may wait for others to join its batch."""
    response_cache: bool = False
    """Rendered as Triton's ``response_cache { enable: true }``: answers may be cached."""


class SourceInfo(_Strict):
    """Where the ONNX file came from."""

    framework: str
    """``torch``, ``keras``, ``sklearn``, ``onnx`` (a compressed variant of another ONNX)."""
    framework_version: str | None = None
    file: str | None = None
    """The source file's name (not its path: manifests are committed)."""


class ParityReport(_Strict):
    """Source framework versus onnxruntime on the same real inputs."""

    samples: int
    atol: float | None
    """Largest accepted max |diff| of float outputs; None when not enforced (tree
    ensembles are held to ``min_label_agreement`` instead)."""
    max_abs_diff: dict[str, float]
    """Per output name."""
    label_agreement: float | None = None
    """Share of samples with the same argmax label, for classifiers."""
    min_label_agreement: float | None = None
    passed: bool


class OptimizationReport(_Strict):
    """Offline onnxruntime graph optimization, before and after."""

    level: str
    nodes_before: int
    nodes_after: int
    latency_ms_before: float
    latency_ms_after: float


class EvaluationData(_Strict):
    """The labelled data a version was scored on, kept so its metrics can be re-measured.

    A CI gate re-scores the file on it (not on a fixed demo split), and a compressed
    variant is scored on the same rows as the version it was compressed from.
    """

    file: str
    """An ``.npz`` holding ``x`` (inputs, in the model's input layout) and ``y`` (class
    indices in output order, or target values), relative to the folder of the manifest."""
    sha256: str
    """Of that file: a gate refuses data changed since the metrics were recorded."""
    samples: int
    source: str = ""
    """Where the rows came from (the user's file names), for a person reading this."""


class VersionInfo(_Strict):
    """One published version: ``<repo>/<model>/<version>/<file>``."""

    file: str = "model.onnx"
    sha256: str
    size_bytes: int
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    variant: str = "fp32"
    """``fp32``, ``int8-static``, ``int8-dynamic``, ``fp16``, ``pruned``, ``distilled`` ..."""
    opset: int | None = None
    source: SourceInfo | None = None
    parity: ParityReport | None = None
    optimization: OptimizationReport | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    """Measured numbers: ``accuracy`` on the held-out split, ``latency_ms_p50`` ..."""
    accuracy_budget: float | None = None
    """Largest accepted drop of ``metrics.accuracy`` below the fp32 version (CI gate)."""
    evaluation: EvaluationData | None = None
    """Where the labelled rows behind ``metrics`` are; None for the demo digits models,
    which are scored on the digits held-out split."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Recipe-specific facts (quantization options, sparsity, teacher, ...)."""


class Manifest(_Strict):
    """Everything about one model of the repository, all versions."""

    schema_version: int = SCHEMA_VERSION
    name: str
    task: Task = "classification"
    description: str = ""
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    scores_output: str | None = None
    """The output holding class scores (classification) or the embedding."""
    scores_kind: Literal["logits", "probabilities", "embedding", "values"] = "logits"
    """``logits`` get a softmax in post-processing; ``probabilities`` are shown as they are."""
    labels: list[str] = Field(default_factory=list)
    preprocessing: Preprocessing = Field(default_factory=Preprocessing)
    postprocessing: Postprocessing = Field(default_factory=Postprocessing)
    batching: Batching = Field(default_factory=Batching)
    versions: dict[str, VersionInfo] = Field(default_factory=dict)
    reference_profile: dict[str, Any] | None = None
    """Statistics of the training inputs, the baseline for drift detection."""

    def latest_version(self) -> int | None:
        """The highest published version number, or None before the first publish."""
        return max((int(v) for v in self.versions), default=None)

    def version(self, version: int) -> VersionInfo:
        """Return one version's record; :class:`KeyError` if it was never published."""
        return self.versions[str(version)]


def read_manifest(model_dir: Path) -> Manifest:
    """Load and validate ``model_dir/manifest.json``.

    :raise BadInput: the file is missing or does not match the schema (the message names
        the file and the first wrong field).
    """
    return read_manifest_file(model_dir / MANIFEST_FILE)


def read_manifest_file(path: Path) -> Manifest:
    """Load and validate a manifest at any path (e.g. ``model.manifest.json`` written by the
    converter beside a standalone ONNX file). :raise BadInput: as :func:`read_manifest`."""
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise BadInput(f"{path} is missing: publish a model there first") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInput(f"{path} is not a valid manifest: {where}: {first['msg']}") from None


def write_manifest(model_dir: Path, manifest: Manifest) -> Path:
    """Write the manifest atomically (a reader never sees half a file)."""
    return write_manifest_file(model_dir / MANIFEST_FILE, manifest)


def write_manifest_file(path: Path, manifest: Manifest) -> Path:
    """Write a manifest to any path atomically."""
    text = json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"
    write_atomic(path, text.encode())
    return path
