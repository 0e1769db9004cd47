"""Recent traffic read from the prediction log: what a live monitoring page shows.

Every worker of every app writes the log, so these figures cover the whole deployment
(the Flask page once kept a window per worker in memory, and each worker showed only
itself). One query per snapshot, over the last ``window_s`` seconds (bounded by
``MAX_REQUESTS`` rows): requests and errors per second, latency percentiles per bucket,
predictions per model version and per class, requests and errors per client.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from utils.monitoring.schema import predictions

BUCKETS: Final[int] = 12
"""The window is cut into this many buckets for the latency and error-rate series (5 s
each for a minute): per-second percentiles of a few requests would be noise."""
MAX_REQUESTS: Final[int] = 50_000
"""Most recent requests a snapshot reads, at most (a page must answer in milliseconds)."""


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; 0.0 for no values.

    Nearest rank on purpose: it always returns a latency that was really measured.
    """
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _bucket_percentile(latencies: list[float], q: float) -> float | None:
    return round(percentile(sorted(latencies), q), 3) if latencies else None


def _requests(engine: sa.Engine, since: float) -> list[Any]:
    """(time, latency, status, client) of each request since ``since`` (its first row)."""
    p = predictions
    query = (
        sa.select(p.c.time, p.c.latency_ms, p.c.status, p.c.client)
        .where(p.c.time >= since, p.c.row == 0)
        .order_by(p.c.time.desc())
        .limit(MAX_REQUESTS)
    )
    with engine.connect() as connection:
        return list(connection.execute(query))


def _predicted(engine: sa.Engine, since: float) -> list[Any]:
    """(model, version, predicted label) of every successful row since ``since``."""
    p = predictions
    query = (
        sa.select(p.c.model, p.c.version, p.c.predicted_label)
        .where(p.c.time >= since, p.c.status == 200)
        .order_by(p.c.time.desc())
        .limit(MAX_REQUESTS)
    )
    with engine.connect() as connection:
        return list(connection.execute(query))


def traffic_snapshot(
    engine: sa.Engine | None, *, window_s: int = 60, now: float | None = None
) -> dict[str, Any]:
    """JSON-ready figures of the last ``window_s`` seconds of the log (series oldest first);
    all zero without a log (``engine`` None), in the same shape."""
    now = time.time() if now is None else now
    start = now - window_s
    if engine is None:
        return traffic_figures([], [], window_s=window_s, start=start)
    return traffic_figures(
        _requests(engine, start), _predicted(engine, start), window_s=window_s, start=start
    )


def traffic_figures(
    requests: Sequence[Sequence[Any]],
    predicted: Sequence[Sequence[Any]],
    *,
    window_s: int,
    start: float,
) -> dict[str, Any]:
    """The figures of :func:`traffic_snapshot` from its rows: ``requests`` as (time,
    latency_ms, status, client), ``predicted`` as (model, version, label)."""
    per_second = [0] * window_s
    errors_per_second = [0] * window_s
    bucket_s = max(1, window_s // BUCKETS)
    buckets: list[list[tuple[float, int]]] = [[] for _ in range(-(-window_s // bucket_s))]
    clients: Counter[str] = Counter()
    client_errors: Counter[str] = Counter()
    for at, latency, status, client in requests:
        offset = max(0.0, at - start)
        per_second[min(window_s - 1, int(offset))] += 1
        buckets[min(len(buckets) - 1, int(offset) // bucket_s)].append((latency, status))
        name = client or "anonymous"
        clients[name] += 1
        if status >= 400:
            errors_per_second[min(window_s - 1, int(offset))] += 1
            client_errors[name] += 1
    latencies = sorted(float(r[1]) for r in requests)
    failed = sum(errors_per_second)
    per_model: Counter[str] = Counter()
    per_class: Counter[str] = Counter()
    for model, version, label in predicted:
        per_model[f"{model} v{version}"] += 1
        if label is not None:
            per_class[label] += 1
    return {
        "window_s": window_s,
        "requests_per_s_series": per_second,
        "errors_per_s_series": errors_per_second,
        "requests_per_s": round(len(requests) / window_s, 3),
        "error_rate": round(failed / len(requests), 4) if requests else 0.0,
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 3),
            "p90": round(percentile(latencies, 90), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(latencies[-1], 3) if latencies else 0.0,
            "count": len(latencies),
        },
        "bucket_s": bucket_s,
        "latency_series": {
            q: [_bucket_percentile([lat for lat, _ in b], pct) for b in buckets]
            for q, pct in (("p50", 50), ("p90", 90), ("p99", 99))
        },
        "error_rate_series": [
            round(sum(s >= 400 for _, s in b) / len(b), 4) if b else None for b in buckets
        ],
        "totals": {"requests": len(requests), "errors": failed},
        "predictions_per_model": dict(sorted(per_model.items())),
        "class_counts": dict(sorted(per_class.items())),
        "clients": {
            name: {"requests": count, "errors": client_errors[name]}
            for name, count in clients.most_common(10)
        },
    }
