"""The committed default repository is what `make models` produces, and still proves itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from utils.conversion import verify_parity
from utils.deployment_helpers.manifest import read_manifest
from utils.digits import load_split, to_layout
from utils.io import sha256_file
from utils.paths import DEFAULT_MODEL_REPOSITORY, DEMO_SOURCES, PROJECT_ROOT

DEMO_MODELS = ("digits_torch", "digits_keras", "digits_sklearn")


def _scores(model_dir: Path) -> np.ndarray:
    manifest = read_manifest(model_dir)
    session = ort.InferenceSession(
        str(model_dir / "1" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    x = to_layout(load_split().x_test, manifest.preprocessing.layout or "flat")
    names = [o.name for o in session.get_outputs()]
    return session.run(None, {"input": x})[names.index(manifest.scores_output)]


@pytest.mark.parametrize("name", DEMO_MODELS)
def test_each_committed_model_matches_the_sha256_in_its_manifest(name: str) -> None:
    manifest = read_manifest(DEFAULT_MODEL_REPOSITORY / name)
    assert manifest.versions["1"].sha256 == sha256_file(
        DEFAULT_MODEL_REPOSITORY / name / "1" / "model.onnx"
    )


@pytest.mark.parametrize("name", DEMO_MODELS)
def test_each_committed_model_reaches_the_accuracy_its_manifest_records(name: str) -> None:
    recorded = read_manifest(DEFAULT_MODEL_REPOSITORY / name).versions["1"].metrics["accuracy"]
    accuracy = float(
        (_scores(DEFAULT_MODEL_REPOSITORY / name).argmax(1) == load_split().y_test).mean()
    )
    assert accuracy == pytest.approx(recorded, abs=1e-6)
    assert accuracy >= 0.96


@pytest.mark.parametrize("name", DEMO_MODELS)
def test_each_committed_model_still_matches_its_committed_source(name: str) -> None:
    source = read_manifest(DEFAULT_MODEL_REPOSITORY / name).versions["1"].source
    assert source is not None and source.file is not None
    report = verify_parity(
        DEFAULT_MODEL_REPOSITORY / name / "1" / "model.onnx", DEMO_SOURCES / source.file
    )
    assert report.passed


@pytest.mark.slow
def test_a_fresh_make_models_build_predicts_what_the_committed_models_predict(
    tmp_path: Path,
) -> None:
    subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "TP_ONNX" / "build_demo_models.py"),
            "--repository",
            str(tmp_path / "models"),
            "--sources",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    for name in DEMO_MODELS:
        committed = _scores(DEFAULT_MODEL_REPOSITORY / name)
        fresh = _scores(tmp_path / "models" / name)
        assert (committed.argmax(1) == fresh.argmax(1)).all(), name
        assert np.abs(committed - fresh).max() < 1e-3, name
