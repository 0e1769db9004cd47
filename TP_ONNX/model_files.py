"""Locate an ONNX file's manifest, and how its input is preprocessed.

Shared by ``onnx_inference.py`` (predictions) and ``framework_benchmark.py``: a converted
file has ``<stem>.manifest.json`` beside it, a repository version has the model's
``manifest.json`` one folder up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from utils.deployment_helpers.manifest import Manifest, Preprocessing, read_manifest_file

LAYOUT_BY_SHAPE = {(64,): "flat", (1, 8, 8): "NCHW", (8, 8, 1): "NHWC"}
"""Input shapes (batch dimension left out) that are the digits models' layouts."""


def find_manifest(model: Path) -> Manifest | None:
    """``<stem>.manifest.json`` beside the file, else the repository's ``../manifest.json``."""
    for candidate in (
        model.with_name(f"{model.stem}.manifest.json"),
        model.parent.parent / "manifest.json",
    ):
        if candidate.is_file():
            return read_manifest_file(candidate)
    return None


def preprocessing_for(manifest: Manifest | None, input_shape: list[Any]) -> Preprocessing:
    if manifest is not None:
        return manifest.preprocessing
    layout = LAYOUT_BY_SHAPE.get(tuple(input_shape[1:]))
    return Preprocessing(kind="digits-8x8", layout=layout) if layout else Preprocessing()  # type: ignore[arg-type]
