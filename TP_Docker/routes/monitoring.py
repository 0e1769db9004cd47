"""``GET /metrics``: the app's own Prometheus registry in text format."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from TP_Docker.routes.common import plane_of

router = APIRouter(tags=["Monitoring"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Request latency/count per model, version and status; batch sizes; queue depth; loads;
    drift, live and estimated accuracy and the prediction log's counters, read from the log
    every worker writes (``docs/monitoring.md``)."""
    # Drift verdicts are recomputed from the log at most every 10 s per model version (a
    # database read and tens of milliseconds of tests): in a thread, never on the loop.
    body = await asyncio.to_thread(plane_of(request).metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
