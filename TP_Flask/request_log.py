"""Request ids, one structured log line per request, and the counters behind monitoring.

Plugged in with :func:`init_app` (flaskr's ``db.init_app`` pattern). Every request gets an
id: the caller's ``X-Request-ID`` when it is a sane token (so a proxy's id follows the
request through), else a fresh one. The id goes into ``utils.monitoring.logging``'s
``request_id_var`` (so every log record of the request carries it, in the same format as
the FastAPI app's), is echoed in the response header, and is printed on the 500 page so a
user can quote it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

from TP_Flask.live_stats import LiveStats, RequestRecord
from utils.monitoring.logging import request_id_var
from utils.monitoring.metrics import ServingMetrics

logger = logging.getLogger("tp_flask.requests")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

UNCOUNTED_BLUEPRINTS = frozenset({"monitoring", "metrics"})
"""The monitoring page polls every two seconds: counting it would drown the real traffic."""

UNCOUNTED_ENDPOINTS = frozenset({"static", "api.health"})


def current_request_id() -> str:
    """The id of the request being served, or ``-`` outside a request."""
    return request_id_var.get() or "-"


def init_app(app: Flask, stats: LiveStats, metrics: ServingMetrics) -> None:
    """Give each request an id, log it when it ends, count it for monitoring and /metrics."""

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_id = request_id
        g.request_id_token = request_id_var.set(request_id)
        g.started_s = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id") or current_request_id()
        endpoint = request.endpoint or ""
        if endpoint in UNCOUNTED_ENDPOINTS or request.blueprint in UNCOUNTED_BLUEPRINTS:
            return response
        duration_s = time.perf_counter() - g.get("started_s", time.perf_counter())
        prediction: dict[str, Any] = g.get("prediction") or {}  # set by routes that ran a model
        fields: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(duration_s * 1000.0, 3),
            "remote": request.remote_addr,
            **prediction,
        }
        if len(g.get("predicted_labels", ())) > 1:
            fields["rows"] = len(g.predicted_labels)
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        logger.log(level, "request", extra=fields)
        stats.record(
            RequestRecord(
                at_s=stats.now(),
                status=response.status_code,
                latency_ms=duration_s * 1000.0,
                model=prediction.get("model"),
                version=prediction.get("version"),
                predicted=g.get("predicted_labels", ()),
            )
        )
        metrics.observe_http(request.method, response.status_code)
        if prediction:
            metrics.observe_request(
                prediction["model"], str(prediction["version"]), response.status_code, duration_s
            )
        return response

    @app.teardown_request
    def _forget_request_id(_: BaseException | None) -> None:
        # Worker threads are reused (gunicorn gthread): never let an id leak to the next request.
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
