"""onnxruntime versus the source framework: latency and throughput per batch and threads.

Both sides run the same inputs through :func:`utils.testing.benchmark.measure_latency`.
The source framework is measured in a spawned child process per thread count: TensorFlow
fixes its thread pools when it starts and cannot change them afterwards, and a child also
keeps torch/TF out of the parent's memory while onnxruntime is timed.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.conversion.detect import Framework, detect_format
from utils.conversion.optimize import ort_session
from utils.errors import ConversionError
from utils.testing.benchmark import LatencyStats, measure_latency

ONNXRUNTIME = "onnxruntime"


@dataclass(frozen=True)
class BenchmarkRow:
    """One measured cell: a runtime at a batch size and thread count."""

    runtime: str
    threads: int
    batch_size: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    throughput_per_s: float
    repeats: int

    @classmethod
    def from_stats(cls, runtime: str, threads: int, stats: LatencyStats) -> BenchmarkRow:
        return cls(
            runtime=runtime,
            threads=threads,
            batch_size=stats.batch_size,
            p50_ms=round(stats.p50_ms, 5),
            p95_ms=round(stats.p95_ms, 5),
            p99_ms=round(stats.p99_ms, 5),
            mean_ms=round(stats.mean_ms, 5),
            throughput_per_s=round(stats.throughput_per_s, 1),
            repeats=stats.repeats,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def batch_of(x: NDArray[np.float32], size: int) -> NDArray[np.float32]:
    """The first ``size`` samples of ``x``, tiled when ``x`` is shorter."""
    reps = -(-size // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:size])


def benchmark_onnx(
    model: Path,
    x: NDArray[np.float32],
    *,
    batch_sizes: Sequence[int],
    threads: Sequence[int],
    warmup: int,
    repeats: int,
) -> list[BenchmarkRow]:
    """Time ``session.run`` for every (threads, batch size) pair."""
    rows = []
    for count in threads:
        session = ort_session(model, threads=count)
        name = session.get_inputs()[0].name
        for size in batch_sizes:
            run = partial(session.run, None, {name: batch_of(x, size)})
            stats = measure_latency(
                run,
                warmup=warmup,
                repeats=repeats,
                batch_size=size,
            )
            rows.append(BenchmarkRow.from_stats(ONNXRUNTIME, count, stats))
    return rows


def _source_runner(path: Path, threads: int) -> Any:
    """Load the source model in this (child) process and return ``fn(x) -> outputs``."""
    framework, fmt = detect_format(path)
    if framework is Framework.TORCH:
        import torch

        from utils.conversion.loading import load_torch
        from utils.conversion.torch_export import as_module

        torch.set_num_threads(threads)
        module = as_module(load_torch(path, fmt))

        def run_torch(x: NDArray[np.float32]) -> Any:
            with torch.no_grad():
                return module(torch.from_numpy(x))

        return run_torch
    if framework is Framework.KERAS:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        from utils.conversion.keras_export import run_keras
        from utils.conversion.loading import load_keras

        keras_model = load_keras(path, fmt)
        return lambda x: run_keras(keras_model, x)
    from threadpoolctl import threadpool_limits

    from utils.conversion.loading import load_sklearn
    from utils.conversion.sklearn_export import run_sklearn

    threadpool_limits(threads)
    estimator = load_sklearn(path, fmt)
    return lambda x: run_sklearn(estimator, x)


def _measure_source(
    path: str,
    x: NDArray[np.float32],
    batch_sizes: list[int],
    threads: int,
    warmup: int,
    repeats: int,
) -> list[dict[str, Any]]:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    framework, _ = detect_format(Path(path))
    run = _source_runner(Path(path), threads)
    rows = []
    for size in batch_sizes:
        stats = measure_latency(
            partial(run, batch_of(x, size)), warmup=warmup, repeats=repeats, batch_size=size
        )
        rows.append(BenchmarkRow.from_stats(str(framework), threads, stats).to_dict())
    return rows


def benchmark_source(
    source: Path,
    x: NDArray[np.float32],
    *,
    batch_sizes: Sequence[int],
    threads: Iterable[int],
    warmup: int,
    repeats: int,
) -> list[BenchmarkRow]:
    """Time the source model (``.pt``/``.pt2``/``.keras``/``.pkl``...) in a spawned child
    process per thread count."""
    context = multiprocessing.get_context("spawn")
    rows: list[BenchmarkRow] = []
    for count in threads:
        with context.Pool(1) as pool:
            try:
                result = pool.apply(
                    _measure_source, (str(source), x, list(batch_sizes), count, warmup, repeats)
                )
            except Exception as exc:
                raise ConversionError(f"benchmarking the source model failed: {exc}") from None
        rows.extend(BenchmarkRow(**row) for row in result)
    return rows


def speedups(rows: Sequence[BenchmarkRow]) -> dict[tuple[int, int], float]:
    """p50(source) / p50(onnxruntime) per (threads, batch size): above 1 means ORT is faster."""
    ort_p50 = {(r.threads, r.batch_size): r.p50_ms for r in rows if r.runtime == ONNXRUNTIME}
    return {
        (r.threads, r.batch_size): round(r.p50_ms / ort_p50[(r.threads, r.batch_size)], 2)
        for r in rows
        if r.runtime != ONNXRUNTIME and (r.threads, r.batch_size) in ort_p50
    }
