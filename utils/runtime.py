"""The one way this project opens an onnxruntime session.

CPU provider only (onnxruntime also lists an Azure provider here) and explicit thread
counts: by default onnxruntime takes every core, and a latency measured on 2 threads next
to one measured on 1 means nothing (STACK.md). Graph optimizations run at session
creation at ``ORT_ENABLE_ALL`` unless a caller asks otherwise (the converter measures a
file with them off, and saves a graph at ``ORT_ENABLE_EXTENDED`` so it stays portable).
Spinning is off: an idle spinning thread burns a core that, on a 2-core machine, the
event loop or the other measurement needs.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

PROVIDERS = ["CPUExecutionProvider"]


def session_options(
    *,
    threads: int = 1,
    optimization: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    optimized_model_path: Path | None = None,
    spinning: bool = False,
) -> ort.SessionOptions:
    """Options with ``threads`` intra-op threads, one inter-op thread, sequential execution.

    ``optimized_model_path`` makes onnxruntime write the optimized graph there (offline
    optimization).
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = optimization
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if optimized_model_path is not None:
        options.optimized_model_filepath = str(optimized_model_path)
    return options


def create_session(
    model: Path | bytes,
    *,
    threads: int = 1,
    optimization: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    optimized_model_path: Path | None = None,
    options: ort.SessionOptions | None = None,
) -> ort.InferenceSession:
    """Open ``model`` (a path or serialized bytes) on the CPU.

    ``options`` replaces the ones built from the keywords (a server adds its arena
    settings to :func:`session_options`). onnxruntime's own exceptions propagate: each
    caller says in its words what failed.
    """
    chosen = options or session_options(
        threads=threads, optimization=optimization, optimized_model_path=optimized_model_path
    )
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, chosen, providers=PROVIDERS)
