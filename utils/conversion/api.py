"""Convert a PyTorch, Keras or scikit-learn model to one verified, optimized ONNX file.

Shaped like onnxruntime's quantization API: a path in, a path out, typed options, a typed
report back (:func:`convert`), plus :func:`convert_model` for a model already in memory.
Every conversion goes through the same steps, and nothing is written to the output path
unless all of them pass:

1. export with the framework's own exporter into a temporary folder;
2. inline weights, name the batch dimension, rename outputs, ``onnx.checker`` (full);
3. optimize offline with onnxruntime (``EXTENDED``: portable), measuring before/after;
4. parity: the source framework and onnxruntime on the same real inputs (always on);
5. move the file into place atomically and write ``<output stem>.manifest.json`` beside it;
6. optionally publish it as the next version of ``<repository>/<name>``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
from numpy.typing import NDArray

from utils.conversion.detect import Framework
from utils.conversion.frameworks import (
    declared_shape,
    export,
    framework_of,
    framework_version,
    load_source,
    run_source,
)
from utils.conversion.optimize import OptimizationLevel, optimize_file
from utils.conversion.profile import digits_reference_profile
from utils.conversion.samples import SampleSet, default_samples, digits_layout, load_samples
from utils.conversion.signature import name_batch_dim, name_outputs, opset_of, read_signature
from utils.conversion.verify import (
    DEFAULT_MIN_LABEL_AGREEMENT,
    accuracy,
    default_atol,
    describe,
    label_output_of,
    run_onnx,
)
from utils.deployment_helpers.manifest import (
    Manifest,
    OptimizationReport,
    ParityReport,
    Preprocessing,
    SourceInfo,
    TensorSpec,
    VersionInfo,
    write_manifest_file,
)
from utils.deployment_helpers.publishing import PublishedVersion, publish_version
from utils.errors import BadInput, ConversionError
from utils.io import atomic_path, sha256_file
from utils.testing.parity import compare_outputs

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
    """Real inputs for the parity check (a ``.npy`` or an array, batch first). None uses the
    digits held-out split for digits-shaped models, random normals otherwise."""
    sample_labels: NDArray[np.int64] | None = None
    """True class indices of ``samples``, to record accuracy in the manifest."""
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


@dataclass(frozen=True)
class ConversionReport:
    """What a conversion produced and proved."""

    output: Path
    manifest_path: Path
    framework: Framework
    exporter: str
    opset: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    samples: str
    parity: ParityReport
    optimization: OptimizationReport
    accuracy: float | None
    sha256: str
    size_bytes: int
    manifest: Manifest
    published: PublishedVersion | None = None


def convert(
    model_input: Path, model_output: Path, options: ConversionOptions | None = None
) -> ConversionReport:
    """Convert the model file ``model_input`` to ``model_output`` (one ``.onnx`` file).

    The framework is detected from the file (``.pt``/``.pt2``, ``.keras``/``.h5``, a
    SavedModel folder, ``.pkl``/``.joblib``/``.skops``). A pickle runs code when it is
    loaded: convert only files you trust, or use ``.skops``.

    :raise BadInput: a missing, unknown, corrupt or non-model input, a missing output folder.
    :raise ConversionError: the exporter or onnxruntime failed.
    :raise ParityError: the ONNX model disagrees with the source beyond tolerance.
    """
    options = options or ConversionOptions()
    _check_output(model_output)
    model, framework = load_source(model_input, trusted_types=options.trusted_types)
    return _convert(model, framework, model_output, options, source_file=model_input)


def convert_model(
    model: object, model_output: Path, options: ConversionOptions | None = None
) -> ConversionReport:
    """Convert an in-memory model: a torch ``nn.Module``/ScriptModule/ExportedProgram, a
    Keras model or TF SavedModel object, or a fitted scikit-learn estimator."""
    options = options or ConversionOptions()
    _check_output(model_output)
    return _convert(model, framework_of(model), model_output, options, source_file=None)


def _check_output(path: Path) -> None:
    if path.suffix.lower() != ".onnx":
        raise BadInput(f"{path}: the output file must end in .onnx")
    if not path.parent.is_dir():
        raise BadInput(f"the output folder {path.parent} does not exist: create it first")
    if path.is_dir():
        raise BadInput(f"{path} is a folder: give a file name ending in .onnx")


def _sample_shape(model: Any, framework: Framework, options: ConversionOptions) -> tuple[int, ...]:
    if options.input_shape is not None:
        return tuple(options.input_shape)
    if isinstance(options.samples, np.ndarray):
        return tuple(options.samples.shape[1:])
    if isinstance(options.samples, Path):
        return tuple(load_samples(options.samples).x.shape[1:])
    shape = declared_shape(model, framework)
    if shape is None or any(d <= 0 for d in shape):
        raise BadInput(
            "the model does not declare its input shape: pass --input-shape (per sample, "
            "without the batch, e.g. 1,8,8) or --samples inputs.npy"
        )
    return shape


def _samples(options: ConversionOptions, shape: tuple[int, ...]) -> SampleSet:
    if isinstance(options.samples, Path):
        samples = load_samples(options.samples)
    elif options.samples is not None:
        samples = SampleSet(np.asarray(options.samples, np.float32), None, "given array")
    else:
        samples = default_samples(shape)
    if tuple(samples.x.shape[1:]) != shape:
        raise BadInput(
            f"samples have per-sample shape {list(samples.x.shape[1:])} but the model takes "
            f"{list(shape)}"
        )
    if options.sample_labels is not None:
        samples = SampleSet(samples.x, np.asarray(options.sample_labels), samples.description)
    return samples


def _tidy(raw: Path, out: Path, framework: Framework, options: ConversionOptions) -> None:
    """Inline the weights, name outputs and the batch dim, and run the full checker."""
    try:
        model = onnx.load(str(raw))
    except Exception as exc:
        raise ConversionError(f"the exporter wrote an unreadable ONNX file: {exc}") from None
    if options.output_names:
        name_outputs(model, list(options.output_names))
    elif framework is Framework.KERAS and len(model.graph.output) == 1:
        name_outputs(model, ["logits"])
    name_batch_dim(model)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        text = (str(exc).strip().splitlines() or ["invalid"])[0][:200]
        raise ConversionError(f"the exported model fails onnx.checker: {text}") from None
    onnx.save_model(model, str(out), save_as_external_data=False)


def _convert(
    model: Any,
    framework: Framework,
    output: Path,
    options: ConversionOptions,
    *,
    source_file: Path | None,
) -> ConversionReport:
    shape = _sample_shape(model, framework, options)
    samples = _samples(options, shape)
    with tempfile.TemporaryDirectory(prefix="convert-") as tmp_name:
        tmp = Path(tmp_name)
        exporter = export(
            model,
            framework,
            samples.x,
            tmp / "raw.onnx",
            opset=options.opset,
            input_name=options.input_name,
            output_names=options.output_names,
            dynamic_batch=options.dynamic_batch,
        )
        _tidy(tmp / "raw.onnx", tmp / "tidy.onnx", framework, options)
        final = tmp / "final.onnx"
        optimization = optimize_file(
            tmp / "tidy.onnx",
            final,
            options.optimization,
            feed={options.input_name: samples.x[:1]},
            repeats=options.benchmark_repeats,
        )
        onnx_model = onnx.load(str(final))
        inputs, outputs = read_signature(onnx_model)
        names = [o.name for o in outputs]
        candidate = run_onnx(final, inputs[0].name, samples.x, options.dynamic_batch)
        reference = run_source(model, framework, samples.x)
        kind = describe(
            model,
            framework,
            outputs,
            labels=options.labels,
            scores_kind=options.scores_kind,
            first_output=np.asarray(candidate[0]),
        )
        classification = kind.task == "classification"
        parity = compare_outputs(
            reference,
            candidate,
            names,
            atol=default_atol(model, framework, options.atol),
            min_label_agreement=options.min_label_agreement if classification else None,
            label_output=label_output_of(kind, names),
        )
        held_out_accuracy = accuracy(candidate, names, kind, samples)
        layout = digits_layout(shape)
        profile = options.reference_profile
        if profile is None and layout is not None:
            profile = digits_reference_profile()
        metrics = dict(options.metrics)
        if held_out_accuracy is not None:
            metrics["accuracy"] = round(held_out_accuracy, 6)
        info = VersionInfo(
            sha256=sha256_file(final),
            size_bytes=final.stat().st_size,
            opset=opset_of(onnx_model),
            source=SourceInfo(
                framework=str(framework),
                framework_version=framework_version(framework),
                file=source_file.name if source_file else None,
            ),
            parity=parity,
            optimization=optimization,
            metrics=metrics,
            details={"exporter": exporter, "parity_samples": samples.description},
        )
        manifest = Manifest(
            name=options.name or output.stem,
            task=kind.task,  # type: ignore[arg-type]
            description=options.description,
            inputs=inputs,
            outputs=outputs,
            scores_output=kind.scores_output,
            scores_kind=kind.scores_kind,  # type: ignore[arg-type]
            labels=kind.labels,
            preprocessing=(
                Preprocessing(kind="digits-8x8", layout=layout)  # type: ignore[arg-type]
                if layout
                else Preprocessing()
            ),
            versions={"1": info},
            reference_profile=profile,
        )
        with atomic_path(output) as staged:
            shutil.copyfile(final, staged)
        manifest_path = manifest_path_for(output)
        beside = manifest
        if source_file is not None:
            # Only the manifest beside a standalone file records where its source lives
            # (for `onnx_inference.py --benchmark`); published manifests are committed, so
            # they keep the file name alone.
            local = info.model_copy(
                update={"details": {**info.details, "source_path": str(source_file.resolve())}}
            )
            beside = manifest.model_copy(update={"versions": {"1": local}})
        write_manifest_file(manifest_path, beside)
        published = None
        if options.repository is not None:
            template = manifest.model_copy(update={"versions": {}})
            published = publish_version(output, options.repository, template, info)
    return ConversionReport(
        output=output,
        manifest_path=manifest_path,
        framework=framework,
        exporter=exporter,
        opset=info.opset or 0,
        inputs=inputs,
        outputs=outputs,
        samples=samples.description,
        parity=parity,
        optimization=optimization,
        accuracy=held_out_accuracy,
        sha256=info.sha256,
        size_bytes=info.size_bytes,
        manifest=manifest,
        published=published,
    )


def manifest_path_for(output: Path) -> Path:
    """``model.onnx`` -> ``model.manifest.json``, beside it (one manifest per file, so
    several models can share an output folder)."""
    return output.with_name(f"{output.stem}.manifest.json")
