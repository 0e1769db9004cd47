"""The monitoring page and its live feed (JSON to poll, or server-sent events).

Every figure comes from the prediction log that every worker of the page (and the API,
with the default settings) writes: traffic, latency and errors
(:func:`utils.monitoring.traffic.traffic_snapshot`), and drift per feature and of the
predictions, live and estimated accuracy and feedback coverage of every served model
(:meth:`ModelMonitor.status`, the same figures as ``/metrics``). Only the CPU and memory
reading is this worker's own. With the log off (``WEB_PREDICTION_LOG=false``) the page
says so and shows no traffic.

The page polls ``/monitoring/stats`` every two seconds: polling works behind any proxy
and with gunicorn's sync workers, where a long-lived event stream would hold a worker.
``/monitoring/events`` streams the same snapshot as server-sent events for tools
(``curl -N``); each stream ends after ``EVENT_STREAM_S`` seconds and tells the client to
reconnect, so a forgotten tab cannot hold a thread forever.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from TP_Flask.services import get_services
from utils.monitoring.traffic import traffic_snapshot

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")
metrics_bp = Blueprint("metrics", __name__)

EVENT_STREAM_S = 30.0
"""Longest life of one server-sent-events response."""

POLL_INTERVAL_S = 2.0
"""How often the page asks for a snapshot (also the event interval)."""


def snapshot() -> dict[str, Any]:
    """Traffic of every worker + model watch + this worker's system reading, JSON-ready."""
    services = get_services()
    plane, monitor = services.plane, services.monitor
    watch = monitor.status()  # first: it writes this worker's queued records
    engine = monitor.log.engine if monitor.log is not None else None
    data = traffic_snapshot(engine, window_s=services.settings.stats_window_s)
    data["log"] = engine is not None
    labels: set[str] = set()
    for model in plane.repository.loaded():
        if model.manifest.task == "classification":
            labels.update(model.manifest.labels)
    counts = data["class_counts"]
    data["class_counts"] = {
        label: counts.get(label, 0) for label in sorted(labels | set(counts), key=_label_order)
    }
    data["watch"] = watch
    data["system"] = services.system.sample().as_dict()
    data["models"] = [
        {"name": m.name, "version": m.version, "state": m.state} for m in plane.index()
    ]
    data["time"] = time.time()
    return data


def _label_order(label: str) -> tuple[int, int | str]:
    """Numeric labels in numeric order ("2" before "10"), then the others by name."""
    return (0, int(label)) if label.isdecimal() else (1, label)


@bp.get("")
def page() -> ResponseReturnValue:
    """The monitoring page (charts drawn by static/js/monitoring.js)."""
    return render_template("monitoring.html", poll_interval_ms=int(POLL_INTERVAL_S * 1000))


@bp.get("/stats")
def stats() -> ResponseReturnValue:
    """One snapshot as JSON."""
    response = jsonify(snapshot())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/events")
def events() -> ResponseReturnValue:
    """Server-sent events: one ``stats`` event every ``POLL_INTERVAL_S``, then reconnect.

    ``?seconds=`` shortens the stream (tests, ``curl``); it is capped at ``EVENT_STREAM_S``.
    """
    try:
        limit_s = min(EVENT_STREAM_S, max(0.0, float(request.args.get("seconds", EVENT_STREAM_S))))
    except ValueError:
        limit_s = EVENT_STREAM_S

    def generate() -> Iterator[str]:
        deadline = time.monotonic() + limit_s
        yield f"retry: {int(POLL_INTERVAL_S * 1000)}\n\n"
        while True:
            yield f"event: stats\ndata: {json.dumps(snapshot())}\n\n"
            if time.monotonic() + POLL_INTERVAL_S > deadline:
                return
            time.sleep(POLL_INTERVAL_S)

    return Response(
        stream_with_context(generate()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@metrics_bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus text format (same metric names as the FastAPI app, drift and accuracy
    from the shared log included), for scraping."""
    return Response(get_services().plane.metrics.render(), mimetype="text/plain; version=0.0.4")
