"""The numbers behind the monitoring page: a rolling window of recent requests.

Prometheus (``/metrics`` of the FastAPI app) is the right place for long-term, multi-process
metrics; a student's page needs something that works with nothing else running. This keeps
the last ``window_s`` seconds of requests in memory (bounded: ``max_events``) and answers
one JSON snapshot: requests per second, latency percentiles, error rate, and since-start
counters per model and per predicted class. Each worker process has its own window: the
snapshot carries the worker's pid so the page can say whose numbers it shows.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from utils.deployment_helpers.observation import RequestOutcome
from utils.deployment_helpers.tasks import task_kind_of


@dataclass(frozen=True)
class RequestRecord:
    """One finished request, as the monitoring page counts it."""

    at_s: float
    """``clock()`` when the request finished."""
    status: int
    latency_ms: float
    model: str | None = None
    """``name`` (and version below) that served a prediction; None for other routes."""
    version: int | None = None
    predicted: tuple[str, ...] = ()
    """The predicted labels (one per image of the request), for the class distribution."""


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; 0.0 for no values.

    Nearest rank on purpose: it always returns a latency that was really measured.
    """
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


BUCKETS = 12
"""The window is cut into this many buckets for the latency and error-rate series (5 s
each for a minute): per-second percentiles of a few requests would be noise."""


def _bucket_percentile(records: list[RequestRecord], q: float) -> float | None:
    """Percentile of one bucket's latencies; None (a gap in the chart) for an empty one."""
    if not records:
        return None
    return round(percentile(sorted(r.latency_ms for r in records), q), 3)


class LiveStats:
    """Thread-safe recorder of recent requests; ``snapshot()`` summarises them."""

    def __init__(
        self,
        *,
        window_s: int = 60,
        max_events: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self._clock = clock
        self._started_s = clock()
        self._events: deque[RequestRecord] = deque(maxlen=max_events)
        self._lock = threading.Lock()
        self._requests_total = 0
        self._errors_total = 0
        self._per_model: Counter[str] = Counter()
        self._per_class: Counter[str] = Counter()

    def now(self) -> float:
        """The clock the records must use (monotonic seconds by default)."""
        return self._clock()

    def record(self, record: RequestRecord) -> None:
        """Add one finished request."""
        with self._lock:
            self._events.append(record)
            self._requests_total += 1
            if record.status >= 400:
                self._errors_total += 1
            if record.model is not None and record.status < 400:
                self._per_model[f"{record.model} v{record.version}"] += max(
                    1, len(record.predicted)
                )
                self._per_class.update(record.predicted)

    def observe(self, outcome: RequestOutcome) -> None:
        """The data plane's observer: one record per inference request, refusals too."""
        predicted: tuple[str, ...] = ()
        if outcome.answers and outcome.served is not None:
            task = task_kind_of(outcome.served.manifest)
            predicted = tuple(task.predicted_labels(outcome.answers))
        served = outcome.served
        self.record(
            RequestRecord(
                at_s=self.now(),
                status=outcome.status,
                latency_ms=outcome.latency_s * 1000.0,
                model=served.name if served is not None else None,
                version=served.version if served is not None else None,
                predicted=predicted,
            )
        )

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready summary of the window (per-second series oldest first) and totals."""
        now = self._clock()
        start = now - self.window_s
        with self._lock:
            while self._events and self._events[0].at_s < start:
                self._events.popleft()
            recent = list(self._events)
            totals = {"requests": self._requests_total, "errors": self._errors_total}
            per_model = dict(sorted(self._per_model.items()))
            per_class = dict(sorted(self._per_class.items()))
        requests = [0] * self.window_s
        errors = [0] * self.window_s
        for record in recent:
            slot = min(self.window_s - 1, max(0, int(record.at_s - start)))
            requests[slot] += 1
            if record.status >= 400:
                errors[slot] += 1
        latencies = sorted(r.latency_ms for r in recent)
        bucket_s = max(1, self.window_s // BUCKETS)
        buckets: list[list[RequestRecord]] = [[] for _ in range(-(-self.window_s // bucket_s))]
        for record in recent:
            index = min(len(buckets) - 1, max(0, int(record.at_s - start) // bucket_s))
            buckets[index].append(record)
        served = sum(requests)
        failed = sum(errors)
        span_s = min(self.window_s, max(1.0, now - self._started_s))
        return {
            "window_s": self.window_s,
            "uptime_s": round(now - self._started_s, 1),
            "requests_per_s_series": requests,
            "errors_per_s_series": errors,
            "requests_per_s": round(served / span_s, 3),
            "error_rate": round(failed / served, 4) if served else 0.0,
            "latency_ms": {
                "p50": round(percentile(latencies, 50), 3),
                "p90": round(percentile(latencies, 90), 3),
                "p99": round(percentile(latencies, 99), 3),
                "max": round(latencies[-1], 3) if latencies else 0.0,
                "count": len(latencies),
            },
            "bucket_s": bucket_s,
            "latency_series": {
                q: [_bucket_percentile(b, pct) for b in buckets]
                for q, pct in (("p50", 50), ("p90", 90), ("p99", 99))
            },
            "error_rate_series": [
                round(sum(r.status >= 400 for r in b) / len(b), 4) if b else None for b in buckets
            ],
            "totals": totals,
            "predictions_per_model": per_model,
            "class_counts": per_class,
        }
