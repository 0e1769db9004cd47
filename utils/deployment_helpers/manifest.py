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


class Preprocessing(_Strict):
    """How a person's input (an image, a sentence) becomes the model's input tensor."""

    kind: Literal["digits-8x8", "text", "tensor"] = "tensor"
    """``digits-8x8``: an image is reduced to 8x8 floats in [0, 1]; ``text``: tokenized."""
    layout: Literal["NCHW", "NHWC", "flat"] | None = None
    """For ``digits-8x8``: [N,1,8,8] (torch), [N,8,8,1] (Keras) or [N,64] (scikit-learn)."""
    tokenizer: str | None = None
    """For ``text``: tokenizer.json, relative to the model folder."""
    max_length: int | None = None
    """For ``text``: sequences are truncated to this many tokens."""


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
    details: dict[str, Any] = Field(default_factory=dict)
    """Recipe-specific facts (quantization options, sparsity, teacher, ...)."""


class Manifest(_Strict):
    """Everything about one model of the repository, all versions."""

    schema_version: int = SCHEMA_VERSION
    name: str
    task: Literal["classification", "embedding", "regression"] = "classification"
    description: str = ""
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    scores_output: str | None = None
    """The output holding class scores (classification) or the embedding."""
    scores_kind: Literal["logits", "probabilities", "embedding", "values"] = "logits"
    """``logits`` get a softmax in post-processing; ``probabilities`` are shown as they are."""
    labels: list[str] = Field(default_factory=list)
    preprocessing: Preprocessing = Field(default_factory=Preprocessing)
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
