"""Fixtures for the use-case models: the committed files, their results, and a runner for
the build scripts as a user runs them (from an unrelated folder, no PYTHONPATH)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.tp_quantization.conftest import run_tool
from utils.deployment_helpers.manifest import Manifest, read_manifest
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT

USE_CASES = PROJECT_ROOT / "TP_ONNX" / "use_cases"
RESULTS = USE_CASES / "results"


def results(name: str) -> dict[str, Any]:
    """A committed results file, parsed."""
    loaded: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text())
    return loaded


def committed_model(name: str) -> tuple[Manifest, Path]:
    """The committed manifest and version-1 file of models/<name>."""
    folder = DEFAULT_MODEL_REPOSITORY / name
    if not (folder / "1" / "model.onnx").is_file():
        pytest.fail(f"models/{name}/1/model.onnx is missing: it is committed (make {name})")
    return read_manifest(folder), folder / "1" / "model.onnx"


def run_script(
    script: str, *args: str, cwd: Path, timeout_s: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a TP_ONNX/use_cases script as a user would, from ``cwd``, no PYTHONPATH."""
    return run_tool(str(USE_CASES / script), *args, cwd=cwd, timeout_s=timeout_s)
