"""Write a compressed model safely: in a temporary folder, proven loadable, then moved.

Every recipe (int8, fp16, pruned exports) goes through :func:`write_checked`, so none can
leave a half-written file at ``out`` or litter the current folder (ORT's shape
pre-processing leaves a 90 MB file in the CURRENT folder when it fails on BERT-like
graphs, STACK.md).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx

from utils.compression.report import CompressionReport
from utils.errors import BadInput, CompressionError
from utils.io import atomic_path
from utils.runtime import create_session


def _check_output(out: Path) -> None:
    if not out.parent.is_dir():
        raise BadInput(f"output folder {out.parent} does not exist: create it first")
    if out.suffix != ".onnx":
        raise BadInput(f"output {out} must end in .onnx")


def write_checked(
    source: Path, out: Path, variant: str, produce: Callable[[Path], dict[str, Any]]
) -> CompressionReport:
    """Run ``produce(tmp_file)`` in a temporary folder, prove the result loads, move it to ``out``.

    ``produce`` returns the details to record. Any failure leaves ``out`` untouched.
    """
    _check_output(out)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="compress-") as work:
        tmp_model = Path(work) / "model.onnx"
        try:
            with contextlib.chdir(work):
                details = produce(tmp_model)
            create_session(tmp_model)
        except (BadInput, CompressionError):
            raise
        except Exception as exc:
            raise CompressionError(f"{variant} of {source.name} failed: {exc}") from exc
        with atomic_path(out) as final_tmp:
            shutil.copyfile(tmp_model, final_tmp)
    return CompressionReport(
        source=source,
        output=out,
        variant=variant,
        size_bytes_before=source.stat().st_size,
        size_bytes_after=out.stat().st_size,
        seconds=time.perf_counter() - started,
        details=details,
    )


def save_model(model: onnx.ModelProto, path: Path) -> None:
    """Save with weights inline (one file), as every published model must be."""
    onnx.save(model, str(path), save_as_external_data=False)
