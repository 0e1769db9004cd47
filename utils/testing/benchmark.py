"""Latency and throughput of any callable, with percentiles.

One small function that every benchmark of the project shares (ORT versus the source
framework in TP_ONNX, fp32 versus int8 in TP_Quantization, the served model in
TP_Docker), so their tables mean the same thing: wall-clock time of one call measured with
``time.perf_counter_ns``, after a warm-up that is not counted (first calls allocate
arenas and fill caches), percentiles by numpy's default linear interpolation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from utils.errors import BadInput


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency in milliseconds and the throughput it implies.

    ``throughput_per_s`` counts items, not calls: ``batch_size`` items per call divided
    by the mean call time, so batch 1 and batch 32 compare directly.
    """

    batch_size: int
    repeats: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    throughput_per_s: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (benchmark reports store these)."""
        return asdict(self)


def stats_from_samples(samples_ns: list[int] | np.ndarray, *, batch_size: int = 1) -> LatencyStats:
    """Summarise raw per-call durations in nanoseconds.

    Split out of :func:`measure_latency` so callers that time calls themselves (a load
    test, a server's request log) get the same summary.
    """
    values_ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if values_ms.size == 0:
        raise BadInput("no samples: measure at least one call")
    p50, p95, p99 = np.percentile(values_ms, [50, 95, 99])
    mean = float(values_ms.mean())
    return LatencyStats(
        batch_size=batch_size,
        repeats=int(values_ms.size),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        mean_ms=mean,
        min_ms=float(values_ms.min()),
        max_ms=float(values_ms.max()),
        throughput_per_s=batch_size * 1000.0 / mean if mean > 0 else float("inf"),
    )


def measure_latency(
    fn: Callable[[], object],
    *,
    warmup: int,
    repeats: int,
    batch_size: int = 1,
) -> LatencyStats:
    """Call ``fn()`` ``warmup`` times untimed, then ``repeats`` times timed, one by one.

    ``fn`` takes no arguments: bind the batch beforehand (``lambda: session.run(None,
    feed)``) so building the input is not timed. ``batch_size`` only scales the
    throughput figure.

    :raise BadInput: ``repeats`` < 1, ``warmup`` < 0 or ``batch_size`` < 1.
    """
    if repeats < 1 or warmup < 0 or batch_size < 1:
        raise BadInput(
            f"need repeats >= 1, warmup >= 0 and batch_size >= 1; "
            f"got repeats={repeats}, warmup={warmup}, batch_size={batch_size}"
        )
    for _ in range(warmup):
        fn()
    samples = np.empty(repeats, dtype=np.int64)
    clock = time.perf_counter_ns
    for index in range(repeats):
        start = clock()
        fn()
        samples[index] = clock() - start
    return stats_from_samples(samples, batch_size=batch_size)
