"""Request ids and one access-log line per request, in the format of every app.

Plugged in with :func:`init_app` (flaskr's ``db.init_app`` pattern). Every request gets an
id by the one rule the API uses too (``utils.monitoring.logging.request_id_from``): the
caller's ``X-Request-ID`` when it is a plain token, else a fresh one. The id goes into
``request_id_var`` (so every log record of the request carries it), into the data plane's
records (metrics, prediction log), is echoed in the response header, and is printed on
the 500 page so a user can quote it. The access line is ``access_fields`` (method, path,
status, duration, client, and the model and version that answered), as in the API.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, request

from utils.deployment_helpers.observation import RequestContext
from utils.monitoring.logging import AccessLog, access_fields, request_id_from, request_id_var
from utils.monitoring.metrics import ServingMetrics

logger = logging.getLogger("tp_flask.requests")

UNLOGGED_ENDPOINTS = frozenset({"static", "api.health", "monitoring.stats", "metrics.metrics"})
"""The page's files, probes and the monitoring poll every two seconds: logging them would
drown the real traffic."""


def current_request_id() -> str:
    """The id of the request being served, or ``-`` outside a request."""
    return request_id_var.get() or "-"


def request_context(route: str) -> RequestContext:
    """Who asks, for the data plane: the request id and the client address."""
    return RequestContext(current_request_id(), request.remote_addr or "unknown", route)


def init_app(app: Flask, metrics: ServingMetrics, access_log: AccessLog) -> None:
    """Give each request an id, log it when it ends, count it in ``http_requests_total``."""

    @app.before_request
    def _start() -> None:
        request_id = request_id_from(request.headers.get("X-Request-ID"))
        g.request_id = request_id
        g.request_id_token = request_id_var.set(request_id)
        g.started_s = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id") or current_request_id()
        metrics.observe_http(request.method, response.status_code)
        if (request.endpoint or "") in UNLOGGED_ENDPOINTS:
            return response
        answered: dict[str, Any] = g.get("answered") or {}  # set by routes that ran a model
        access_log.log(
            access_fields(
                request.method,
                request.path,
                response.status_code,
                time.perf_counter() - g.get("started_s", time.perf_counter()),
                request.remote_addr,
                **answered,
            )
        )
        return response

    @app.teardown_request
    def _forget_request_id(_: BaseException | None) -> None:
        # Worker threads are reused (gunicorn gthread): never let an id leak to the next request.
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
