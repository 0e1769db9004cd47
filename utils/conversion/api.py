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

import logging
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from utils.conversion.detect import Framework
from utils.conversion.frameworks import (
    export,
    framework_of,
    framework_version,
    load_source,
    run_source,
)
from utils.conversion.inputs import (
    check_labels,
    evaluation_targets,
    feature_names_of,
    input_kind_of,
    labelled_data,
    parity_samples,
    sample_shape,
    unscaled_warning,
)
from utils.conversion.optimize import optimize_file
from utils.conversion.options import ConversionOptions
from utils.conversion.profile import digits_reference_profile, reference_profile
from utils.conversion.signature import name_batch_dim, name_outputs, opset_of, read_signature
from utils.conversion.standardize import Standardizer, fold_into_graph, load_standardizer
from utils.conversion.verify import (
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
    Standardization,
    TensorSpec,
    VersionInfo,
    write_manifest_file,
)
from utils.deployment_helpers.publishing import PublishedVersion, publish_version
from utils.errors import BadInput, ConversionError
from utils.evaluation.data import data_digest, keep_evaluation
from utils.evaluation.scoring import score_outputs, scores_of
from utils.io import atomic_path, sha256_file
from utils.testing.parity import compare_outputs

logger = logging.getLogger("utils.conversion")


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
    metrics: dict[str, float]
    warnings: list[str]
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
    model, framework = load_source(
        model_input,
        trusted_types=options.trusted_types,
        model_class=options.model_class,
        model_args=options.model_args,
    )
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


def _tidy(
    raw: Path,
    out: Path,
    framework: Framework,
    options: ConversionOptions,
    standardizer: Standardizer | None,
) -> None:
    """Inline the weights, fold the standardization, name outputs and the batch dim, and
    run the full checker."""
    try:
        model = onnx.load(str(raw))
    except Exception as exc:
        raise ConversionError(f"the exporter wrote an unreadable ONNX file: {exc}") from None
    if options.output_names:
        name_outputs(model, list(options.output_names))
    elif framework is Framework.KERAS and len(model.graph.output) == 1:
        name_outputs(model, ["logits"])
    if standardizer is not None:
        fold_into_graph(model, standardizer)
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
    data = labelled_data(options)
    shape = sample_shape(model, framework, options, data)
    samples = parity_samples(data, shape)
    feature_names = feature_names_of(model, options, data, shape)
    input_kind, layout = input_kind_of(options, shape, feature_names)
    standardizer = None
    if options.standardize is not None:
        if framework is Framework.SKLEARN:
            raise BadInput(
                "--standardize is for PyTorch and Keras networks: a scikit-learn pipeline "
                "carries its own scaler (make_pipeline(StandardScaler(), model))"
            )
        standardizer = load_standardizer(options.standardize, samples.x)
    source_x = standardizer.apply(samples.x) if standardizer else samples.x
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="convert-") as tmp_name:
        tmp = Path(tmp_name)
        exporter = export(
            model,
            framework,
            source_x,
            tmp / "raw.onnx",
            opset=options.opset,
            input_name=options.input_name,
            output_names=options.output_names,
            dynamic_batch=options.dynamic_batch,
        )
        _tidy(tmp / "raw.onnx", tmp / "tidy.onnx", framework, options, standardizer)
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
        reference = run_source(model, framework, source_x)
        kind = describe(
            model,
            framework,
            outputs,
            labels=options.labels,
            scores_kind=options.scores_kind,
            first_output=np.asarray(candidate[0]),
        )
        check_labels(kind, options.labels, scores_of(candidate, names, kind.scores_output))
        classification = kind.task == "classification"
        y = evaluation_targets(model, framework, kind, data, samples)
        metrics: dict[str, float] = {}
        if y is not None:
            measured = partial(score_outputs, names=names, task=kind.task, y=y)
            metrics = measured(candidate, scores_output=kind.scores_output)
            source_metrics = measured(reference, scores_output=kind.scores_output)
            metrics.update({f"{k}_source": v for k, v in source_metrics.items()})
            if standardizer is None and framework is not Framework.SKLEARN:
                # Before parity: raw features far from the training scale can also fail it.
                warnings += unscaled_warning(model, framework, samples.x, metrics, measured, kind)
        for warning in warnings:
            logger.warning(warning)
        parity = compare_outputs(
            reference,
            candidate,
            names,
            atol=default_atol(model, framework, options.atol),
            min_label_agreement=options.min_label_agreement if classification else None,
            label_output=label_output_of(kind, names),
        )
        metrics.update(options.metrics)
        profile = options.reference_profile
        if profile is None and input_kind == "digits-8x8" and data is None:
            profile = digits_reference_profile()
        elif profile is None and data is not None:  # never a profile of random inputs
            profile = reference_profile(
                samples.x,
                y if classification else None,
                kind.labels,
                source=f"evaluation samples: {samples.description}",
                feature_names=feature_names or None,
            )
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
            details={
                "exporter": exporter,
                "parity_samples": samples.description,
                **({"warnings": warnings} if warnings else {}),
            },
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
            preprocessing=Preprocessing(
                kind=input_kind,
                layout=layout,  # type: ignore[arg-type]
                feature_names=feature_names,
                standardization=(
                    Standardization(
                        mean=[float(v) for v in standardizer.mean.reshape(-1)],
                        std=[float(v) for v in standardizer.std.reshape(-1)],
                        in_graph=True,
                    )
                    if standardizer
                    else None
                ),
            ),
            versions={"1": info},
            reference_profile=profile,
        )
        keep = data is not None and y is not None
        with atomic_path(output) as staged:
            shutil.copyfile(final, staged)
        local = info
        if keep:
            assert y is not None
            evaluation = keep_evaluation(
                output.parent,
                f"{output.stem}.evaluation.npz",
                samples.x,
                y,
                source=samples.description,
            )
            local = local.model_copy(update={"evaluation": evaluation})
        if source_file is not None:
            # Only the manifest beside a standalone file records where its source lives
            # (for `onnx_inference.py --benchmark`); published manifests are committed, so
            # they keep the file name alone.
            local = local.model_copy(
                update={"details": {**info.details, "source_path": str(source_file.resolve())}}
            )
        manifest_path = manifest_path_for(output)
        write_manifest_file(manifest_path, manifest.model_copy(update={"versions": {"1": local}}))
        published = None
        if options.repository is not None:
            template = manifest.model_copy(update={"versions": {}})
            if keep:
                assert y is not None
                model_dir = options.repository / template.name
                model_dir.mkdir(parents=True, exist_ok=True)
                record = keep_evaluation(
                    model_dir,
                    f"evaluation-{data_digest(samples.x, y)[:12]}.npz",
                    samples.x,
                    y,
                    source=samples.description,
                )
                info = info.model_copy(update={"evaluation": record})
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
        accuracy=metrics.get("accuracy"),
        metrics=metrics,
        warnings=warnings,
        sha256=info.sha256,
        size_bytes=info.size_bytes,
        manifest=manifest,
        published=published,
    )


def manifest_path_for(output: Path) -> Path:
    """``model.onnx`` -> ``model.manifest.json``, beside it (one manifest per file, so
    several models can share an output folder)."""
    return output.with_name(f"{output.stem}.manifest.json")
