"""What the serving tests of the walk compare against: the student's rows and what
onnxruntime answers on the published file, with no server in between."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import read_manifest
from utils.evaluation.data import read_evaluation

FRAMEWORKS: Final = {"iris_forest": "scikit-learn", "wine_mlp": "PyTorch", "cancer_keras": "Keras"}
"""The student's models, by the framework each was trained with."""


def student_rows(repository: Path, name: str) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """The rows the student converted ``name`` with, and their class indices (the copy the
    converter kept beside the model: the same rows the gate scores on)."""
    folder = repository / name
    record = read_manifest(folder).versions["1"].evaluation
    assert record is not None, f"{name} was converted without targets"
    x, y = read_evaluation(folder, record)
    return x.astype(np.float32), y.astype(np.int64)


def onnxruntime_outputs(
    repository: Path, name: str, version: int, x: NDArray[np.float32]
) -> dict[str, NDArray[Any]]:
    """Every output of the published file of ``name`` v``version`` on ``x``."""
    path = repository / name / str(version) / "model.onnx"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: x}), strict=True))


def onnxruntime_classes(
    repository: Path, name: str, version: int, x: NDArray[np.float32]
) -> list[str]:
    """The class name of each row, from the scores output of the published file."""
    manifest = read_manifest(repository / name)
    scores = onnxruntime_outputs(repository, name, version, x)[manifest.scores_output or ""]
    return [manifest.labels[i] for i in scores.argmax(axis=1)]
