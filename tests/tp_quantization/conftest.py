"""Fixtures for the TP_Quantization command-line tests: a private copy of the repository,
and one full MiniLM build shared by every MiniLM test of the session."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT

TP = PROJECT_ROOT / "TP_Quantization"


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A copy of models/ with only version 1 (fp32) of the digits models."""
    target = tmp_path / "models"
    target.mkdir()
    for name in ("digits_torch", "digits_keras", "digits_sklearn"):
        source = DEFAULT_MODEL_REPOSITORY / name
        if not (source / "1" / "model.onnx").is_file():
            pytest.fail(
                f"models/{name}/1/model.onnx is missing: it is committed, so this clone is"
                " incomplete (git restore models/, or rebuild with `make models`)"
            )
        (target / name / "1").mkdir(parents=True)
        shutil.copyfile(source / "1" / "model.onnx", target / name / "1" / "model.onnx")
        from utils.deployment_helpers.manifest import read_manifest, write_manifest

        manifest = read_manifest(source)
        manifest.versions = {"1": manifest.versions["1"]}
        write_manifest(target / name, manifest)
    return target


def run_tool(
    script: str, *args: str, cwd: Path, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a TP_Quantization script as a user would, from an unrelated folder, no PYTHONPATH."""
    return subprocess.run(
        [sys.executable, str(TP / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd),
            "HF_HUB_OFFLINE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        },
    )


@pytest.fixture(scope="session")
def minilm_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full `minilm.py` run (the published recipe, all calibration sentences), ~2 min.

    Session-scoped: the build is the expensive part, and every MiniLM test (publishing,
    targets, auto mode) reads the same files. Returns the work folder holding
    ``models/minilm`` and ``minilm.json``.
    """
    work = tmp_path_factory.mktemp("minilm")
    done = run_tool(
        "minilm.py",
        "--repository",
        str(work / "models"),
        "--results",
        str(work / "minilm.json"),
        cwd=work,
        timeout_s=900,
    )
    assert done.returncode == 0, done.stderr
    return work
