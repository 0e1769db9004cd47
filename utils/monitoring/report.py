"""An HTML report of one model's traffic, read from the prediction log.

``python -m utils.monitoring report --since 24h --model digits_torch --out out/report``
writes ``index.html`` and five PNG plots: traffic per version, latency percentiles, errors
by status, per-feature drift of the latest window (and the drift score over time), and
accuracy over time (live from feedback, estimated from confidences). It reads the log that
every worker writes, so it covers the whole deployment. matplotlib is imported here only
(``requirements-convert.txt``; a serving image does not need it).
"""

from __future__ import annotations

import html
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from utils.errors import BadInput
from utils.monitoring.drift import DriftReport, detect_drift
from utils.monitoring.records import features_from_blob
from utils.monitoring.schema import feedback, predictions

BUCKETS = 24
"""Time buckets per plot."""


@dataclass
class ReportData:
    """The log's rows of one model since a time, as columns."""

    model: str
    since: float
    until: float
    time: np.ndarray[Any, Any]
    version: list[str]
    latency_ms: np.ndarray[Any, Any]
    status: np.ndarray[Any, Any]
    predicted: list[str | None]
    confidence: list[float | None]
    truth: list[str | None]
    features: list[np.ndarray[Any, Any] | None]
    drift: DriftReport | None = None
    drift_over_time: list[tuple[float, float]] = field(default_factory=list)


def parse_since(text: str, *, now: float | None = None) -> float:
    """Unix time from ``24h``, ``7d``, ``90m`` (ago) or an ISO date/time (UTC if naive).

    :raise BadInput: neither form.
    """
    from datetime import UTC, datetime

    now = time.time() if now is None else now
    units = {"m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdecimal() and text[-1:] in units:
        return now - int(text[:-1]) * units[text[-1]]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"--since {text!r}: give 24h, 7d, 90m or an ISO date such as 2026-11-27"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def load(engine: sa.Engine, model: str, since: float) -> ReportData:
    """Every logged row of ``model`` since Unix time ``since``, with its feedback label."""
    joined = sa.and_(
        feedback.c.request_id == predictions.c.request_id, feedback.c.row == predictions.c.row
    )
    query = (
        sa.select(
            predictions.c.time,
            predictions.c.version,
            predictions.c.latency_ms,
            predictions.c.status,
            predictions.c.predicted_label,
            predictions.c.confidence,
            feedback.c.label,
            predictions.c.features,
        )
        .select_from(predictions.outerjoin(feedback, joined))
        .where(predictions.c.model == model, predictions.c.time >= since)
        .order_by(predictions.c.time, predictions.c.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    if not rows:
        raise BadInput(f"no request of model {model!r} in the log since {time.ctime(since)}")
    return ReportData(
        model=model,
        since=since,
        until=float(rows[-1][0]),
        time=np.array([r[0] for r in rows], dtype=np.float64),
        version=[str(r[1]) for r in rows],
        latency_ms=np.array([r[2] for r in rows], dtype=np.float64),
        status=np.array([r[3] for r in rows], dtype=np.int64),
        predicted=[r[4] for r in rows],
        confidence=[r[5] for r in rows],
        truth=[r[6] for r in rows],
        features=[features_from_blob(r[7]) for r in rows],
    )


def add_drift(data: ReportData, profile: Mapping[str, Any], *, window: int = 500) -> None:
    """Drift of the latest ``window`` rows, and the score of each consecutive window."""
    flat = {**profile, "reduction": {"kind": "flat"}}
    usable = [
        (t, f, p)
        for t, f, p, s in zip(data.time, data.features, data.predicted, data.status, strict=True)
        if f is not None and s == 200 and len(f) == int(profile["features"])
    ]
    if not usable:
        return
    for start in range(0, len(usable), window):
        chunk = usable[start : start + window]
        report = detect_drift(flat, np.stack([f for _, f, _ in chunk]))
        if report.inputs_drifted is not None:
            data.drift_over_time.append((float(chunk[-1][0]), report.inputs_score))
    last = usable[-window:]
    labels = [p for _, _, p in last if p is not None]
    data.drift = detect_drift(flat, np.stack([f for _, f, _ in last]), labels)


def _buckets(data: ReportData) -> np.ndarray[Any, Any]:
    end = max(data.until, data.since + 1.0)
    return np.linspace(data.since, end + 1e-6, BUCKETS + 1)


def _centres(edges: np.ndarray[Any, Any]) -> list[Any]:
    from datetime import UTC, datetime

    return [datetime.fromtimestamp((a + b) / 2, UTC) for a, b in itertools.pairwise(edges)]


def _plots(data: ReportData, out: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = _buckets(data)
    x = _centres(edges)
    index = np.clip(np.digitize(data.time, edges) - 1, 0, BUCKETS - 1)
    written: dict[str, str] = {}

    def save(figure: Any, name: str, title: str) -> None:
        figure.autofmt_xdate()
        figure.suptitle(title)
        figure.savefig(out / name, dpi=90, bbox_inches="tight")
        plt.close(figure)
        written[name] = title

    figure, axis = plt.subplots(figsize=(8, 3))
    for version in sorted(set(data.version)):
        mask = np.array([v == version for v in data.version])
        axis.plot(x, np.bincount(index[mask], minlength=BUCKETS), label=f"v{version}")
    axis.set_ylabel("requests (rows) per bucket")
    axis.legend()
    save(figure, "traffic.png", "Traffic per version")

    figure, axis = plt.subplots(figsize=(8, 3))
    for q in (50, 95, 99):
        values = [
            np.percentile(data.latency_ms[index == b], q) if np.any(index == b) else np.nan
            for b in range(BUCKETS)
        ]
        axis.plot(x, values, label=f"p{q}")
    axis.set_ylabel("latency (ms)")
    axis.legend()
    save(figure, "latency.png", "Latency percentiles")

    figure, axis = plt.subplots(figsize=(8, 3))
    for status in sorted(set(data.status.tolist()) - {200}):
        axis.plot(
            x, np.bincount(index[data.status == status], minlength=BUCKETS), label=str(status)
        )
    axis.set_ylabel("refused or failed requests")
    if len(set(data.status.tolist()) - {200}):
        axis.legend()
    save(figure, "errors.png", "Errors by status")

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
    if data.drift is not None and data.drift.features:
        stats = [f.psi for f in data.drift.features]
        colours = ["tab:red" if f.drifted else "tab:blue" for f in data.drift.features]
        left.bar(range(len(stats)), stats, color=colours)
        left.set_xlabel("feature (red: drifted)")
        left.set_ylabel("PSI")
    if data.drift_over_time:
        right.plot(
            _centres(np.array([data.since] + [t for t, _ in data.drift_over_time])),
            [s for _, s in data.drift_over_time],
            marker="o",
        )
        right.axhline(0.5, color="tab:red", linestyle="--")
        right.set_ylabel("share of features drifted")
    save(figure, "drift.png", "Per-feature drift (latest window) and drift score over time")

    figure, axis = plt.subplots(figsize=(8, 3))
    live: list[float] = []
    estimated: list[float] = []
    for b in range(BUCKETS):
        rows = np.nonzero(index == b)[0]
        pairs = [(data.predicted[i], data.truth[i]) for i in rows if data.truth[i] is not None]
        live.append(float(np.mean([p == t for p, t in pairs])) if pairs else float("nan"))
        conf = [c for c in (data.confidence[i] for i in rows) if c is not None]
        estimated.append(float(np.mean(conf)) if conf else float("nan"))
    axis.plot(x, live, marker="o", label="live (feedback)")
    axis.plot(x, estimated, label="estimated (mean top probability)")
    axis.set_ylim(0, 1.02)
    axis.legend()
    save(figure, "accuracy.png", "Accuracy over time")
    return written


def _summary(data: ReportData) -> dict[str, Any]:
    ok = data.status == 200
    labelled = [(p, t) for p, t in zip(data.predicted, data.truth, strict=True) if t is not None]
    return {
        "model": data.model,
        "rows": len(data.time),
        "errors": int((~ok).sum()),
        "latency_ms_p50": round(float(np.percentile(data.latency_ms, 50)), 3),
        "latency_ms_p99": round(float(np.percentile(data.latency_ms, 99)), 3),
        "live_accuracy": (
            round(float(np.mean([p == t for p, t in labelled])), 4) if labelled else None
        ),
        "feedback_rows": len(labelled),
        "inputs_drifted": None if data.drift is None else data.drift.inputs_drifted,
        "inputs_drift_score": None if data.drift is None else data.drift.inputs_score,
        "predictions_drifted": None if data.drift is None else data.drift.predictions_drifted,
    }


def write_report(
    engine: sa.Engine,
    out: Path,
    *,
    model: str,
    since: float,
    profile: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``out/index.html`` (+ PNGs and ``summary.json``); returns the HTML path.

    :raise BadInput: nothing logged for ``model`` since ``since``.
    """
    data = load(engine, model, since)
    if profile is not None:
        add_drift(data, profile)
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(data, out)
    summary = _summary(data)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
    )
    figures = "".join(
        f'<h2>{html.escape(title)}</h2><img src="{name}" alt="{html.escape(title)}">'
        for name, title in plots.items()
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Monitoring report: {html.escape(model)}</title></head><body>"
        f"<h1>Monitoring report: {html.escape(model)}</h1>"
        f"<p>From {time.strftime('%Y-%m-%d %H:%M', time.gmtime(since))} to "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(data.until))} UTC.</p>"
        f"<table>{rows}</table>{figures}</body></html>"
    )
    path = out / "index.html"
    path.write_text(page)
    return path
