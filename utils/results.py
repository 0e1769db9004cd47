"""Where an experiment writes its numbers: ``out/`` by default, the committed reference
only when asked.

The committed results (``TP_Quantization/results/``, ``TP_Quantization/benchmarks/``,
``TP_ONNX/benchmarks/``, ``deploy/SIZES.json``) are what the docs quote and what a
student compares a run against; a run that overwrote them would erase the very numbers it
is meant to be compared with. So every experiment writes the same file names under
``out/<same relative path>``, and only ``--update-reference`` (or a make target named for
it) replaces the committed copy.
"""

from __future__ import annotations

import os
from pathlib import Path

from utils.paths import PROJECT_ROOT

OUT = PROJECT_ROOT / "out"
UPDATE_REFERENCE_ENV = "UPDATE_REFERENCE"
"""Set to 1 to let a test that measures a committed figure (deploy/SIZES.json) rewrite it."""


def results_path(reference: Path, *, update_reference: bool) -> Path:
    """``reference`` itself when updating it, else the same path under ``out/``."""
    reference = reference.resolve()
    if update_reference:
        return reference
    if reference.is_relative_to(PROJECT_ROOT):
        return OUT / reference.relative_to(PROJECT_ROOT)
    return OUT / reference.name


def update_reference_from_env() -> bool:
    """True when ``UPDATE_REFERENCE=1`` is set (make targets named ``*-update-reference``)."""
    return os.environ.get(UPDATE_REFERENCE_ENV, "") == "1"
