"""Offline graph optimization with onnxruntime, measured before and after.

The optimized graph is saved at ``ORT_ENABLE_EXTENDED`` on purpose: ``ORT_ENABLE_ALL``
writes layout-specific ops (NCHWc) tied to this machine's CPU, and onnxruntime warns
about saving them; at ``EXTENDED`` the file stays portable, and a server still applies
the remaining passes when it creates its session (STACK.md).

Latency before/after is measured with online optimization OFF in both sessions, so the
figures isolate what the saved file gained, not what onnxruntime would do anyway.
"""

from __future__ import annotations

import shutil
from enum import StrEnum
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from numpy.typing import NDArray

from utils.conversion.signature import count_nodes
from utils.deployment_helpers.manifest import OptimizationReport
from utils.errors import ConversionError
from utils.runtime import create_session
from utils.testing.benchmark import measure_latency


class OptimizationLevel(StrEnum):
    """How far onnxruntime rewrites the graph before it is saved."""

    NONE = "none"
    """Keep the exporter's graph as it is."""
    BASIC = "basic"
    """Constant folding and redundant-node removal: always safe."""
    EXTENDED = "extended"
    """Adds fusions (Conv+Relu, Gemm+activation, ...). Portable; the default."""


_ORT_LEVEL = {
    OptimizationLevel.NONE: ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    OptimizationLevel.BASIC: ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    OptimizationLevel.EXTENDED: ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
}


def ort_session(
    path: Path,
    *,
    threads: int = 1,
    level: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
) -> ort.InferenceSession:
    """The project's CPU session (utils.runtime), failures told as a ConversionError."""
    try:
        return create_session(path, threads=threads, optimization=level)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ConversionError(f"onnxruntime cannot load {path.name}: {text}") from None


def _latency_ms(path: Path, feed: dict[str, NDArray[np.float32]], repeats: int) -> float:
    session = ort_session(path, level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    stats = measure_latency(lambda: session.run(None, feed), warmup=10, repeats=repeats)
    return stats.p50_ms


def optimize_file(
    source: Path,
    target: Path,
    level: OptimizationLevel,
    *,
    feed: dict[str, NDArray[np.float32]],
    repeats: int = 200,
) -> OptimizationReport:
    """Write the optimized ``source`` to ``target``; report nodes and p50 latency (batch 1).

    ``feed`` is one batch-1 input; ``repeats`` timed runs per side (0.2 s for the digits
    CNN).
    """
    nodes_before = count_nodes(onnx.load(str(source)))
    if level is OptimizationLevel.NONE:
        shutil.copyfile(source, target)
    else:
        try:
            create_session(source, optimization=_ORT_LEVEL[level], optimized_model_path=target)
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ConversionError(f"onnxruntime could not optimize the model: {text}") from None
    nodes_after = count_nodes(onnx.load(str(target)))
    return OptimizationReport(
        level=str(level),
        nodes_before=nodes_before,
        nodes_after=nodes_after,
        latency_ms_before=round(_latency_ms(source, feed, repeats), 4),
        latency_ms_after=round(_latency_ms(target, feed, repeats), 4),
    )
