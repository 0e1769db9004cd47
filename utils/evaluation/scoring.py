"""Score any model on labelled rows: the user's, or the ones its manifest records.

Accuracy for classifiers (argmax of the scores output), MAE and RMSE for regressors. The
converter scores a new file and its source; the compression tools score every variant;
the quality gate re-scores every published version. Only numpy and onnxruntime are
imported (the gate runs with the serving requirements).

Where :func:`scorer_for` takes the rows from, first found:

1. a file the user passes (``.npz`` holding ``x`` and ``y``, ``.npy`` + a targets ``.npy``,
   ``.csv`` + its target column);
2. the evaluation data the model's manifest records for the version being compressed
   (written by the converter from the user's ``--samples``/``--targets``);
3. the digits held-out split, for the demo digits models.

Without any of them a variant is measured for size only, and the tools say so. A
classifier is scored by accuracy (higher is better), a regressor by MAE (lower is better).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import (
    EvaluationData,
    Manifest,
    Preprocessing,
    TensorSpec,
    read_manifest_file,
)
from utils.errors import BadInput
from utils.evaluation.data import class_indices, load_labelled, read_evaluation

INT8_RESCORE_TOLERANCE = 0.01
"""How far an int8 variant's accuracy, re-scored on another CPU, may sit from the one its
manifest records. onnxruntime's u8s8 int8 kernels use VPMADDUBSW on CPUs without VNNI
(AVX2 only), which can saturate: the digits_keras int8 version published on a VNNI
machine at 0.9806 re-scores 0.9722 (3 of 360 digits) on an AVX2-only EPYC. Float variants
are held to one sample instead (see the quality gate)."""


def rescore_tolerance(variant: str, samples: int, *, cpu_independent: bool = False) -> float:
    """The largest accepted |recorded - re-scored| accuracy for a variant on ``samples``.

    ``cpu_independent``: an int8 variant written with 7-bit weights (``reduce_range``)
    cannot saturate on any CPU, so it is held to one sample like a float variant.
    """
    one_sample = 1.0 / max(samples, 1) + 1e-9
    if "int8" in variant and not cpu_independent:
        return max(one_sample, INT8_RESCORE_TOLERANCE)
    return one_sample


def mae_rescore_tolerance(variant: str, recorded: float) -> float:
    """The largest accepted |recorded - re-scored| MAE: float rounding for float
    variants (1e-4 relative), int8 kernels' differences across CPUs (2 %) for int8."""
    return abs(recorded) * (0.02 if "int8" in variant else 1e-4) + 1e-6


DIGITS_LAYOUTS = {(1, 8, 8): "NCHW", (8, 8, 1): "NHWC", (64,): "flat"}


def scores_of(
    outputs: Sequence[NDArray[Any]], names: Sequence[str], scores_output: str | None
) -> NDArray[Any]:
    """The output holding class scores or predicted values."""
    if scores_output is not None and scores_output in names:
        return np.asarray(outputs[list(names).index(scores_output)])
    for value in outputs:  # the first float output
        array = np.asarray(value)
        if np.issubdtype(array.dtype, np.floating):
            return array
    return np.asarray(outputs[0])


def score_outputs(
    outputs: Sequence[NDArray[Any]],
    names: Sequence[str],
    *,
    task: str,
    scores_output: str | None,
    y: NDArray[Any],
) -> dict[str, float]:
    """``{"accuracy"}`` for a classifier (argmax of its scores), ``{"mae", "rmse"}`` else.

    ``y`` holds class indices for a classifier, target values otherwise.
    """
    scores = scores_of(outputs, names, scores_output)
    if task == "classification":
        predicted = scores.argmax(axis=1) if scores.ndim == 2 else scores.reshape(-1)
        return {"accuracy": round(float((predicted == np.asarray(y)).mean()), 6)}
    predicted = scores.reshape(len(scores), -1).astype(np.float64)
    truth = np.asarray(y, np.float64).reshape(len(y), -1)
    if predicted.shape != truth.shape:
        raise BadInput(
            f"the model predicts {predicted.shape[1]} value(s) per sample, the targets hold "
            f"{truth.shape[1]}"
        )
    error = predicted - truth
    return {
        "mae": round(float(np.abs(error).mean()), 6),
        "rmse": round(float(np.sqrt((error**2).mean())), 6),
    }


def score_file(
    model: Path, manifest: Manifest, x: NDArray[Any], y: NDArray[Any], *, batch_size: int = 256
) -> dict[str, float]:
    """Score an ONNX file of ``manifest``'s model on ``(x, y)`` with onnxruntime."""
    from utils.runtime import create_session

    session = create_session(model)
    input_name = session.get_inputs()[0].name
    expected = session.get_inputs()[0].shape[1:]
    fixed = [d if isinstance(d, int) else -1 for d in expected]
    if len(fixed) != x.ndim - 1 or any(
        d not in (-1, s) for d, s in zip(fixed, x.shape[1:], strict=False)
    ):
        raise BadInput(
            f"the evaluation rows have shape {list(x.shape[1:])} per sample; {model.name} "
            f"takes {fixed}"
        )
    names = [o.name for o in session.get_outputs()]
    parts = [
        session.run(None, {input_name: np.asarray(x[i : i + batch_size], np.float32)})
        for i in range(0, len(x), batch_size)
    ]
    outputs = [np.concatenate([p[k] for p in parts]) for k in range(len(names))]
    return score_outputs(
        outputs, names, task=manifest.task, scores_output=manifest.scores_output, y=y
    )


@dataclass(frozen=True)
class Scorer:
    """Labelled rows in the model's input layout and how to read a model's answers."""

    manifest: Manifest
    x: NDArray[Any]
    y: NDArray[Any]
    description: str
    evaluation: EvaluationData | None = None
    """The manifest record of these rows when they are the recorded ones."""
    origin: str = "user"
    """``user`` (a file given now), ``recorded`` (the manifest's) or ``digits`` (the split)."""

    @property
    def metric(self) -> str:
        """``accuracy`` (classifiers) or ``mae`` (regressors)."""
        return "accuracy" if self.manifest.task == "classification" else "mae"

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "accuracy"

    def metrics(self, model: Path) -> dict[str, float]:
        """Every metric of one file (``accuracy``, or ``mae`` and ``rmse``)."""
        return score_file(model, self.manifest, self.x, self.y)

    def __call__(self, model: Path) -> float:
        """The one metric budgets are read against."""
        return self.metrics(model)[self.metric]

    def latency_feed(self, input_name: str, batch_size: int = 1) -> dict[str, NDArray[Any]]:
        """A real batch of rows, for latency measurements."""
        reps = -(-batch_size // len(self.x))
        rows = np.concatenate([self.x] * reps)[:batch_size]
        return {input_name: np.asarray(rows, np.float32)}


def manifest_for(model: Path) -> tuple[Manifest | None, Path | None]:
    """The manifest describing an ONNX file, and the folder its relative paths start from:
    ``<stem>.manifest.json`` beside a converted file, or ``../manifest.json`` for a
    repository version."""
    for candidate in (
        model.with_name(f"{model.stem}.manifest.json"),
        model.parent.parent / "manifest.json",
    ):
        if candidate.is_file():
            return read_manifest_file(candidate), candidate.parent
    return None, None


def version_of(manifest: Manifest, folder: Path, model: Path) -> str | None:
    """Which version of ``manifest`` the file ``model`` is (by path), if any."""
    resolved = model.resolve()
    for number, info in manifest.versions.items():
        for where in (folder / number / info.file, folder / info.file):
            if where.resolve() == resolved:
                return number
    if len(manifest.versions) == 1 and model.name.endswith(".onnx"):
        return next(iter(manifest.versions))  # a converted file beside its manifest
    return None


def digits_layout_of(spec: TensorSpec | list[int]) -> str | None:
    shape = spec.shape if isinstance(spec, TensorSpec) else spec
    return DIGITS_LAYOUTS.get(tuple(shape[1:]))


def _bare_manifest(model: Path, y: NDArray[Any]) -> Manifest:
    """A manifest for a file converted elsewhere: a classifier when targets are integers."""
    import onnx

    from utils.conversion.signature import read_signature

    inputs, outputs = read_signature(onnx.load(str(model), load_external_data=False))
    integer = np.issubdtype(y.dtype, np.integer) or (
        np.issubdtype(y.dtype, np.floating) and bool(np.all(np.mod(y, 1) == 0))
    )
    wide = [o for o in outputs if o.datatype.startswith("FP") and len(o.shape) == 2]
    classifier = integer and bool(wide) and wide[-1].shape[1] != 1
    return Manifest(
        name=model.stem,
        task="classification" if classifier else "regression",
        inputs=inputs,
        outputs=outputs,
        scores_output=(wide[-1].name if classifier else outputs[0].name),
    )


def _digits_manifest(model: Path) -> Manifest | None:
    """A stand-in manifest for a digits-shaped ONNX file without one (its input is a
    digits layout and one float output has 10 columns), else None."""
    from utils.runtime import create_session

    try:
        session = create_session(model)
    except Exception:  # not a runnable ONNX file: nothing to score it with
        return None
    (first, *rest) = session.get_inputs()
    tail = tuple(d if isinstance(d, int) else -1 for d in first.shape[1:])
    layout = DIGITS_LAYOUTS.get(tail)
    scores = [o for o in session.get_outputs() if o.type == "tensor(float)" and o.shape[-1] == 10]
    if rest or layout is None or not scores:
        return None
    return Manifest(
        name=model.stem,
        inputs=[TensorSpec(name=first.name, datatype="FP32", shape=[-1, *tail])],
        outputs=[TensorSpec(name=scores[0].name, datatype="FP32", shape=[-1, 10])],
        scores_output=scores[0].name,
        labels=[str(i) for i in range(10)],
        preprocessing=Preprocessing(kind="digits-8x8", layout=layout),  # type: ignore[arg-type]
    )


def targets_as_indices(manifest: Manifest, y: NDArray[Any]) -> NDArray[np.int64]:
    """Class values or names (the manifest's labels) first, else class indices."""
    scores = next((o for o in manifest.outputs if o.name == manifest.scores_output), None)
    count = len(manifest.labels) or (scores.shape[-1] if scores else 0)
    indices = [str(i) for i in range(count)]
    try:
        return class_indices(y, manifest.labels or indices)
    except BadInput:
        return class_indices(y, indices)


def scorer_for(
    model: Path,
    *,
    data: Path | None = None,
    targets: Path | None = None,
    target_column: str | None = None,
    manifest: Manifest | None = None,
    folder: Path | None = None,
    version: str | None = None,
) -> Scorer | None:
    """The rows variants of ``model`` are scored on (see the module docstring), or None.

    :raise BadInput: a data file that cannot be read, has no targets or does not fit.
    """
    if manifest is None:
        manifest, folder = manifest_for(model)
        if manifest is not None and folder is not None and version is None:
            version = version_of(manifest, folder, model)
    if data is not None:
        rows = load_labelled(data, targets, target_column=target_column)
        if rows.y is None:
            raise BadInput(
                f"{data.name} holds no targets: give a .npz with x and y, --targets y.npy, "
                "or a .csv with --target-column"
            )
        chosen = manifest or _bare_manifest(model, rows.y)
        y = targets_as_indices(chosen, rows.y) if chosen.task == "classification" else rows.y
        return Scorer(chosen, rows.x, y, rows.description)
    if manifest is None:
        manifest = _digits_manifest(model)  # a demo digits file converted elsewhere
        if manifest is None:
            return None
    record = None
    if version is not None and version in manifest.versions:
        record = manifest.versions[version].evaluation
    if record is None:
        record = next(
            (i.evaluation for _, i in sorted(manifest.versions.items()) if i.evaluation), None
        )
    if record is not None and folder is not None:
        x, y = read_evaluation(folder, record)
        return Scorer(manifest, x, y, f"recorded evaluation data {record.file}", record, "recorded")
    layout = manifest.preprocessing.layout or digits_layout_of(manifest.inputs[0])
    if manifest.preprocessing.kind == "digits-8x8" and layout is not None:
        from utils.digits import load_split, to_layout

        split = load_split()
        return Scorer(
            manifest,
            to_layout(split.x_test, layout),
            split.y_test,
            f"digits held-out split ({len(split.y_test)} samples)",
            origin="digits",
        )
    return None
