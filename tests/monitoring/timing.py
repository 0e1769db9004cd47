"""Per-call timing that a busy shared machine does not turn into a flaky test."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any


def best_per_call_us(
    call: Callable[[Any], object], items: Sequence[Any], chunks: int = 10
) -> float:
    """Microseconds per call in the fastest of ``chunks`` equal runs over ``items``: other
    processes only ever add time, so the fastest run is the closest to the call's cost."""
    size = max(len(items) // chunks, 1)
    best = float("inf")
    gc.disable()  # as timeit does: thousands of live records make collections the cost
    try:
        for start in range(0, len(items) - size + 1, size):
            began = time.perf_counter()
            for item in items[start : start + size]:
                call(item)
            best = min(best, (time.perf_counter() - began) / size)
    finally:
        gc.enable()
    return best * 1e6
