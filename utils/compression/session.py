"""One way to open an onnxruntime session for measuring, so every number is comparable.

CPU provider only (ORT also lists an Azure provider here) and an explicit thread count:
by default ORT takes every core, and a latency measured on 2 threads next to one measured
on 1 means nothing. Graph optimizations run at session creation (ORT_ENABLE_ALL), as they
will when the model is served.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort


def create_session(model: Path | bytes, *, threads: int = 1) -> ort.InferenceSession:
    """Open ``model`` (a path or serialized bytes) on the CPU with ``threads`` intra-op threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
