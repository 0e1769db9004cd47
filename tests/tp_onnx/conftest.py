"""Helpers to run the TP_ONNX command-line tools as a user would: a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from utils.paths import PROJECT_ROOT

TP_ONNX = PROJECT_ROOT / "TP_ONNX"


def run_tool(
    script: str, *args: str | Path, cwd: Path, timeout_s: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run ``TP_ONNX/<script>`` with ``args`` from ``cwd`` (not the project root)."""
    return subprocess.run(
        [sys.executable, str(TP_ONNX / script), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An unrelated current folder: the tools must not depend on where they are run from."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder
